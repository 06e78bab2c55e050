"""Bounded state: what a finished instance leaves in the store, and its purge after retention.

A stack of its own with a retention of seconds (the Configuration's `stateRetentionPolicy`,
components/config.yaml has the defaults), on PostgreSQL, where the rows can be counted.
"""

from collections.abc import Iterator

import httpx
import pytest

from tests.integration.polling import start, wait_for, wait_until
from tests.integration.stacks import running_stack
from tools.stack import Stack

RETENTION_SECONDS = 3
TASK = {"task_id": "ret-1", "title": "URGENT: retention", "description": "Purged in seconds"}
ORDER = {"order_id": "ret-order", "product": "p", "quantity": 1, "cost": 5000}


@pytest.fixture(scope="module")
def short_lived(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Stack, httpx.Client]]:
    retention = {"anyTerminal": f"{RETENTION_SECONDS}s"}
    with (
        running_stack(tmp_path_factory.mktemp("retention"), "postgres", retention=retention) as s,
        httpx.Client(base_url=s.replicas[0].url, timeout=30) as api,
    ):
        yield s, api


def rows(stack: Stack, instance_id: str) -> int:
    """The store's rows of one instance: its workflow actor's keys."""
    return int(
        stack.postgres.sql(f"SELECT count(*) FROM state WHERE key LIKE '%||{instance_id}||%'")
    )


def test_instance_keeps_one_row_per_history_event_plus_two(
    short_lived: tuple[Stack, httpx.Client],
) -> None:
    stack, api = short_lived
    iid = start(api, "purchase_approval", ORDER)
    wait_for(api, iid, {"RUNNING"})
    wait_until(lambda: api.get(f"/workflows/{iid}/history").json()["events"], what="history")
    api.post(f"/workflows/{iid}/events/approval_received", json={"approved": True, "approver": "a"})
    wait_for(api, iid)
    events = api.get(f"/workflows/{iid}/history").json()["events"]
    # metadata and customStatus, then a row per event: 2 per activity, 1 per event raised,
    # 1 per timer created and fired, 1 per turn of the workflow (workflowStarted).
    assert rows(stack, iid) == len(events) + 2


def test_ten_item_fan_out_keeps_26_to_35_rows(short_lived: tuple[Stack, httpx.Client]) -> None:
    """docs/state-stores.md's count: 5 for the instance, 2 per activity, 1 per further turn
    (10 at most)."""
    stack, api = short_lived
    iid = start(api, "fan_out_fan_in", {"task_ids": [f"ret-item-{n}" for n in range(10)]})
    assert wait_for(api, iid)["runtime_status"] == "COMPLETED"
    events = api.get(f"/workflows/{iid}/history").json()["events"]
    turns = sum(e["kind"] == "workflowStarted" for e in events)
    assert rows(stack, iid) == len(events) + 2 == 24 + turns  # 26 to 35
    assert 2 <= turns <= 11


def test_finished_instance_is_purged_after_its_retention_running_one_is_kept(
    short_lived: tuple[Stack, httpx.Client],
) -> None:
    stack, api = short_lived
    waiting = start(api, "purchase_approval", {**ORDER, "order_id": "ret-waiting"})
    done = start(api, "task_chaining", TASK)
    assert wait_for(api, done)["runtime_status"] == "COMPLETED"
    assert rows(stack, done) > 0
    wait_until(
        lambda: api.get(f"/status/{done}").status_code == 404,
        timeout=RETENTION_SECONDS + 30,
        what="finished instance purged",
    )
    assert rows(stack, done) == 0
    assert api.get(f"/status/{waiting}").json()["runtime_status"] == "RUNNING"
    assert rows(stack, waiting) > 0


def test_retention_is_rendered_into_the_sidecars_configuration(
    short_lived: tuple[Stack, httpx.Client],
) -> None:
    stack, _ = short_lived
    config = (stack.workdir / "config.yaml").read_text()
    assert f"anyTerminal: {RETENTION_SECONDS}s" in config
    # The defaults per state are dropped: each would win over anyTerminal.
    assert "completed:" not in config
