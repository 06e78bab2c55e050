"""What a running instance shows in custom_status: what it waits for, and a fan-out's progress."""

import json
from dataclasses import dataclass, field
from typing import Any

import pytest

from app.workflows import fan_out_fan_in as fan
from app.workflows import purchase_approval
from tests.unit.fake_workflow import NOW, FakeContext, run

pytestmark = pytest.mark.usefixtures("fake_composites")


@dataclass
class RecordingContext(FakeContext):
    """Keeps every custom status set, in order, not only the last."""

    statuses: list[Any] = field(default_factory=list)

    def set_custom_status(self, status: str) -> None:
        super().set_custom_status(status)
        self.statuses.append(json.loads(status))


def large_order() -> purchase_approval.PurchaseOrder:
    return purchase_approval.PurchaseOrder(
        order_id="o1",
        product="Laptop",
        quantity=1,
        cost=5000,
        approval_threshold=1000,
        approval_timeout_seconds=600,
    )


def test_waiting_purchase_shows_the_event_and_the_deadline_from_the_workflow_clock() -> None:
    ctx = RecordingContext(events=[{"approved": True, "approver": "Jane"}])
    run(purchase_approval.purchase_approval, ctx, large_order())
    assert ctx.statuses[0] == {
        "waiting_for": "approval_received",
        "deadline": "2026-01-01T12:10:00+00:00",
    }
    assert ctx.statuses[-1] == {"waiting_for": None, "decided_by": "Jane"}
    assert ctx.timers == [NOW.replace(minute=10)]


def test_timed_out_purchase_no_longer_shows_waiting() -> None:
    ctx = RecordingContext()
    run(purchase_approval.purchase_approval, ctx, large_order())
    assert ctx.statuses[-1] == {"waiting_for": None, "timed_out": True}


def test_fan_out_reports_items_done_of_total_as_they_settle() -> None:
    ctx = RecordingContext()
    batch = fan.FanOutInput(task_ids=["a", "b", "fail-c"], max_parallel=2)
    run(fan.fan_out_fan_in, ctx, batch)
    assert [s["done"] for s in ctx.statuses] == [0, 1, 2, 3]
    assert {s["total"] for s in ctx.statuses} == {3}


def test_large_fan_out_counts_the_items_of_each_finished_child() -> None:
    ctx = RecordingContext(instance_id="big")
    ids = [f"t-{i}" for i in range(250)]
    run(fan.fan_out_fan_in, ctx, fan.FanOutInput(task_ids=ids, max_parallel=100))
    assert [s["done"] for s in ctx.statuses] == [0, 100, 200, 250]
