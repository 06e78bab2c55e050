"""purchase_approval's decision paths, driven without a sidecar (tests/unit/fakes.py)."""

from typing import Any

import pytest

from app.workflows import purchase_approval
from tests.unit.fakes import NOW, FakeContext, activity_names, registered_activities, run

pytestmark = pytest.mark.usefixtures("fake_composites")


def order(cost: float) -> purchase_approval.PurchaseOrder:
    return purchase_approval.PurchaseOrder(
        order_id="o1",
        product="Laptop",
        quantity=1,
        cost=cost,
        approval_threshold=1000,
        approval_timeout_seconds=60,
    )


def test_small_order_is_auto_approved_and_placed() -> None:
    ctx = FakeContext()
    result = run(purchase_approval.purchase_approval, ctx, order(999.99))
    assert (result.status, result.message) == ("auto_approved", "Auto-approved")
    assert activity_names(ctx) == ["place_order"]


def test_large_order_approved_by_a_human_is_placed() -> None:
    ctx = FakeContext(events=[{"approved": True, "approver": "Jane Doe"}])
    result = run(purchase_approval.purchase_approval, ctx, order(1000))
    assert (result.status, result.approved_by) == ("approved", "Jane Doe")
    assert result.message == "Approved by 'Jane Doe'"
    assert activity_names(ctx) == ["check_budget", "request_approval", "place_order"]


def test_an_approval_that_names_only_the_approver_approves() -> None:
    ctx = FakeContext(events=[{"approver": "Jane Doe"}])  # Dapr's own sample's payload
    result = run(purchase_approval.purchase_approval, ctx, order(5000))
    assert (result.status, result.approved_by) == ("approved", "Jane Doe")


def test_large_order_rejected_is_not_placed() -> None:
    ctx = FakeContext(events=[{"approved": False, "approver": "Bob", "comment": "Too much"}])
    result = run(purchase_approval.purchase_approval, ctx, order(5000))
    assert (result.status, result.approved_by, result.comment) == ("rejected", "Bob", "Too much")
    assert "place_order" not in activity_names(ctx)


def test_unanswered_order_times_out_and_releases_reservation() -> None:
    ctx = FakeContext()
    result = run(purchase_approval.purchase_approval, ctx, order(5000))
    assert result.status == "cancelled"
    assert result.message == "Cancelled: no approval within 60 seconds"
    assert activity_names(ctx) == ["check_budget", "request_approval", "release_reservation"]


def test_malformed_decision_is_ignored_until_a_valid_one() -> None:
    ctx = FakeContext(events=[{"approved": "maybe"}, {"approved": True, "approver": "Ann"}])
    result = run(purchase_approval.purchase_approval, ctx, order(5000))
    assert (result.status, result.approved_by) == ("approved", "Ann")


def test_second_decision_after_the_first_changes_nothing() -> None:
    first, retried = {"approved": True, "approver": "Ann"}, {"approved": False, "approver": "Bo"}
    ctx = FakeContext(events=[first, retried])
    result = run(purchase_approval.purchase_approval, ctx, order(5000))
    assert (result.status, result.approved_by) == ("approved", "Ann")
    assert activity_names(ctx) == ["check_budget", "request_approval", "place_order"]
    assert ctx.events == [retried]  # never read: it stays in the history and does nothing


def test_order_without_a_threshold_waits_for_a_human() -> None:
    unset = order(5000).model_copy(update={"approval_threshold": None})
    result = run(purchase_approval.purchase_approval, FakeContext(), unset)
    assert result.status == "cancelled"


def test_waiting_purchase_shows_the_event_and_the_deadline_from_the_workflow_clock() -> None:
    ctx = FakeContext(events=[{"approved": True, "approver": "Jane"}])
    run(purchase_approval.purchase_approval, ctx, order(5000))
    assert ctx.statuses[0] == {
        "waiting_for": "approval_received",
        "deadline": "2026-01-01T12:01:00+00:00",
    }
    assert ctx.statuses[-1] == {"waiting_for": None, "decided_by": "Jane"}
    assert ctx.timers == [NOW.replace(minute=1)]


def test_timed_out_purchase_no_longer_shows_waiting() -> None:
    ctx = FakeContext()
    run(purchase_approval.purchase_approval, ctx, order(5000))
    assert ctx.statuses[-1] == {"waiting_for": None, "timed_out": True}


def test_order_over_the_budget_is_refused_before_anyone_is_asked() -> None:
    ctx = FakeContext(activities={**registered_activities(), "check_budget": budget(4999)})
    result = run(purchase_approval.purchase_approval, ctx, order(5000))
    assert result.status == "over_budget"
    assert result.message == "Over budget: 5000.00 exceeds the budget of 4999.00"
    assert activity_names(ctx) == ["check_budget"]


def test_order_that_started_before_the_budget_check_is_not_checked() -> None:
    """Version v1: an instance that started before the check keeps the path it started on."""
    ctx = FakeContext(
        events=[{"approver": "Jane Doe"}],
        activities={**registered_activities(), "check_budget": budget(1)},
        started_before_patches=True,
    )
    result = run(purchase_approval.purchase_approval_v1, ctx, order(5000))
    assert result.status == "approved"
    assert activity_names(ctx) == ["request_approval", "place_order"]


def test_order_that_took_the_budget_check_as_a_patch_is_checked_on_v1() -> None:
    """Version v1 is the code of the patch too: an instance that took it keeps the check."""
    ctx = FakeContext(activities={**registered_activities(), "check_budget": budget(1)})
    result = run(purchase_approval.purchase_approval_v1, ctx, order(5000))
    assert result.status == "over_budget"
    assert activity_names(ctx) == ["check_budget"]


def budget(limit: float) -> Any:
    return purchase_approval.check_budget_activity(limit)
