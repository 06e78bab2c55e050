"""Admission control on the real sidecar: the running cap follows instances as they finish."""

import time
import uuid
from collections.abc import Iterator

import httpx
import pytest

from app.config import Settings
from tests.integration.polling import start, wait_for
from tests.integration.stacks import running_stack

# A token every 100 s: however slow a loaded machine runs this test, the burst is what it spends,
# and it is enough for the starts, a generous wait for the cap to free, and the rate to show.
BURST = 24
NOTICE_ATTEMPTS, NOTICE_EVERY = 10, 2.0
LIMITS = {
    "APP_MAX_RUNNING_INSTANCES": "2",
    "APP_MAX_STARTS_PER_SECOND": "0.01",
    "APP_START_BURST": str(BURST),
    "APP_ADMISSION_RECHECK_MAX_SECONDS": "1",
}


def order() -> dict[str, object]:
    return {"order_id": uuid.uuid4().hex, "product": "Laptop", "quantity": 1, "cost": 5000}


@pytest.fixture(scope="module")
def limited(tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    with (
        running_stack(tmp_path_factory.mktemp("limited"), app_env=LIMITS) as stack,
        httpx.Client(base_url=stack.replicas[0].url, timeout=30) as api,
    ):
        yield api


def test_cap_holds_until_an_instance_finishes_and_the_rate_holds_after(
    limited: httpx.Client,
) -> None:
    first = start(limited, "purchase_approval", order())  # both wait for a human
    start(limited, "purchase_approval", order())
    refused = limited.post("/workflows/purchase_approval", json=order())
    assert refused.status_code == 429 and refused.json()["error"] == "too_many_running"
    assert int(refused.headers["Retry-After"]) >= 1
    assert limited.post(f"/workflows/{first}/terminate").status_code == 202
    wait_for(limited, first)
    answers = []
    for _ in range(NOTICE_ATTEMPTS):  # the replica notices within a second or so, when idle
        time.sleep(NOTICE_EVERY)
        answers.append(limited.post("/workflows/purchase_approval", json=order()))
        if answers[-1].status_code == 202:
            break
    assert answers[-1].status_code == 202, [a.text for a in answers]
    errors: list[str] = []
    while len(errors) < BURST and "rate_limited" not in errors:
        errors.append(limited.post("/workflows/purchase_approval", json=order()).json()["error"])
    assert errors[-1] == "rate_limited" and set(errors[:-1]) <= {"too_many_running"}


def test_with_the_defaults_waiting_approvals_never_close_the_replica(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """The default bounds work, not waiting: 300 approvals waiting for a human (three times the
    old cap) and a new chain still starts and completes."""
    fields = Settings.model_fields
    env = {  # the defaults, where the tests' stacks turn admission off; one caller, no rate
        "APP_MAX_RUNNING_INSTANCES": str(fields["max_running_instances"].default),
        "APP_MAX_PENDING_WORK_ITEMS": str(fields["max_pending_work_items"].default),
        "APP_MAX_STARTS_PER_SECOND": "0",
    }
    with (
        running_stack(tmp_path_factory.mktemp("defaults"), app_env=env) as stack,
        httpx.Client(base_url=stack.replicas[0].url, timeout=30) as api,
    ):
        waiting = [start(api, "purchase_approval", order()) for _ in range(300)]
        wait_for(api, waiting[-1], {"RUNNING"})
        chain = {"task_id": "t", "title": "URGENT: fix login", "description": "Long enough text"}
        assert wait_for(api, start(api, "task_chaining", chain))["runtime_status"] == "COMPLETED"
