"""A deploy while instances run, on the real sidecar and each store: the app started on the code
from before purchase_approval's budget check, orders left waiting, the app started again on
this checkout's code (the check behind its patch). The old orders finish on their old path, new
ones take the new path, and `make replay` passes before the deploy is made."""

import shutil
from pathlib import Path

import httpx
import pytest

from tests.integration.polling import start, wait_for
from tests.integration.stacks import EVERY_STORE, running_stack
from tools import replay
from tools.paths import ROOT

pytestmark = pytest.mark.stores("sqlite", *EVERY_STORE)
GUARD = "    if ctx.is_patched(BUDGET_CHECK):\n"
AFTER_GUARD = "    yield ctx.call_activity(request_approval,"


def code_before_the_budget_check(into: Path) -> Path:
    """This checkout's app/ with purchase_approval's patched block taken out: the code as it
    was before the patch, as a running deploy would still have it."""
    shutil.copytree(ROOT / "app", into / "app", ignore=shutil.ignore_patterns("__pycache__"))
    module = into / "app" / "workflows" / "purchase_approval.py"
    source = module.read_text()
    start_at, end_at = source.index(GUARD), source.index(AFTER_GUARD)
    module.write_text(source[:start_at] + source[end_at:])
    return into


def order(cost: float) -> dict[str, object]:
    return {"order_id": "o", "product": "Laptop", "quantity": 1, "cost": cost}


def scheduled(api: httpx.Client, iid: str) -> list[str]:
    events = api.get(f"/workflows/{iid}/history").json()["events"]
    return [e["name"] for e in events if e["kind"] == "taskScheduled"]


def approved(api: httpx.Client, iid: str) -> str:
    response = api.post(f"/workflows/{iid}/events/approval_received", json={"approver": "Jane"})
    assert response.status_code == 202, response.text
    return str(wait_for(api, iid)["output"]["status"])


def test_orders_waiting_across_a_deploy_finish_on_their_old_path(
    store: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    old_code = code_before_the_budget_check(tmp_path / "old")
    with (
        running_stack(tmp_path / "stack", store, app_dir=old_code) as stack,
        httpx.Client(base_url=stack.replicas[0].url, timeout=30) as api,
    ):
        before = [start(api, "purchase_approval", order(cost)) for cost in (5000, 1_000_000)]
        for iid in before:
            wait_for(api, iid, {"RUNNING"})
            assert scheduled(api, iid) == ["request_approval"]  # waiting, unchecked
        assert replay.main(["--service", stack.replicas[0].url]) == 0  # the deploy is safe
        assert "2 of 2 histories" in capsys.readouterr().out

        stack.deploy()  # this checkout's code: the budget check behind its patch

        over = wait_for(api, start(api, "purchase_approval", order(1_000_000)))
        assert over["output"]["status"] == "over_budget"
        after = start(api, "purchase_approval", order(5000))
        wait_for(api, after, {"RUNNING"})
        for iid in before:  # the one over the budget too: it started before the check
            assert approved(api, iid) == "approved"
            assert scheduled(api, iid) == ["request_approval", "place_order"]
        assert approved(api, after) == "approved"
        assert scheduled(api, after) == ["check_budget", "request_approval", "place_order"]
