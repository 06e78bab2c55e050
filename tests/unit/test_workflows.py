"""Each workflow's decision paths, driven without a sidecar (tests/unit/fake_workflow.py)."""

import json
from datetime import timedelta

import pytest

from app.workflows import fan_out_fan_in as fan
from app.workflows import hybrid, monitor, purchase_approval, task_chaining
from app.workflows.tasks import TaskItem
from tests.unit.fake_workflow import FakeContext, run

pytestmark = pytest.mark.usefixtures("fake_composites")


def activity_names(ctx: FakeContext) -> list[str]:
    return [name for name, _ in ctx.calls]


def test_chain_completes_with_tags_score_and_workflow_time() -> None:
    ctx = FakeContext()
    task = TaskItem(task_id="t1", title="URGENT: fix", description="The API is down")
    result = run(task_chaining.task_chaining, ctx, task)
    assert (result.status, result.score, result.tags) == (
        "completed",
        85,
        ["high-priority", "backend"],
    )
    assert result.processed_at == "2026-01-01T12:00:00+00:00"
    assert activity_names(ctx) == ["validate_task", "enrich_task", "score_task"]


def test_chain_rejects_invalid_task_without_enriching() -> None:
    ctx = FakeContext()
    result = run(
        task_chaining.task_chaining, ctx, TaskItem(task_id="t", title="x", description="y")
    )
    assert (result.status, result.score, len(result.issues)) == ("rejected", 0, 2)
    assert activity_names(ctx) == ["validate_task"]


def test_chain_step_failure_runs_error_handler_and_fails() -> None:
    ctx = FakeContext()
    task = TaskItem(task_id="fail-1", title="Valid title", description="Valid description")
    with pytest.raises(task_chaining.ChainStepFailed, match="enrich failed for task fail-1"):
        run(task_chaining.task_chaining, ctx, task)
    assert activity_names(ctx) == ["validate_task", "enrich_task", "handle_chain_error"]


def test_fan_out_reports_failures_without_failing_the_batch() -> None:
    batch = fan.FanOutInput(task_ids=["a", "fail-b", "c"], max_parallel=2)
    result = run(fan.fan_out_fan_in, FakeContext(), batch)
    assert (result.processed_count, result.succeeded, result.failed) == (3, 2, 1)
    assert result.failure_ids == ["fail-b"]
    assert [r.task_id for r in result.individual_results] == ["a", "fail-b", "c"]
    assert result.total_score == fan.item_score("a") + fan.item_score("c")
    assert result.average_score == round(result.total_score / 2, 2)


def test_large_fan_out_is_split_into_child_instances_in_order() -> None:
    ids = [f"id-{i}" for i in range(250)] + ["fail-last"]
    ctx = FakeContext(instance_id="big")
    result = run(fan.fan_out_fan_in, ctx, fan.FanOutInput(task_ids=ids, max_parallel=100))
    children = [call for name, call in ctx.calls if name.startswith("child:")]
    assert children == ["big:part-0", "big:part-1", "big:part-2"]
    assert [r.task_id for r in result.individual_results] == ids
    assert (result.processed_count, result.failed, result.failure_ids) == (251, 1, ["fail-last"])


def test_item_scores_are_deterministic_and_bounded() -> None:
    assert fan.item_score("task-1") == fan.item_score("task-1")
    assert all(0 <= fan.item_score(f"id-{i}") <= 100 for i in range(200))


def test_hybrid_processes_only_valid_tasks() -> None:
    batch = hybrid.HybridInput(
        tasks=[
            TaskItem(task_id="ok", title="URGENT: outage", description="Payments API is down"),
            TaskItem(task_id="bad", title="x", description="y"),
        ]
    )
    result = run(hybrid.hybrid, FakeContext(), batch)
    assert (result.status, result.validated, result.processed) == ("completed", 2, 1)
    assert result.rejected_ids == ["bad"]
    assert result.results[0].score == 85


def test_hybrid_with_no_valid_items_processes_nothing() -> None:
    ctx = FakeContext()
    result = run(
        hybrid.hybrid,
        ctx,
        hybrid.HybridInput(tasks=[TaskItem(task_id="b", title="x", description="y")]),
    )
    assert (result.status, result.processed, result.rejected_ids) == ("no_valid_items", 0, ["b"])
    assert "process_item" not in activity_names(ctx)


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
    assert activity_names(ctx) == ["request_approval", "place_order"]


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
    assert activity_names(ctx) == ["request_approval", "release_reservation"]


def test_malformed_decision_is_ignored_until_a_valid_one() -> None:
    ctx = FakeContext(events=[{"approved": "maybe"}, {"approved": True, "approver": "Ann"}])
    result = run(purchase_approval.purchase_approval, ctx, order(5000))
    assert (result.status, result.approved_by) == ("approved", "Ann")


def test_second_decision_after_the_first_changes_nothing() -> None:
    first, retried = {"approved": True, "approver": "Ann"}, {"approved": False, "approver": "Bo"}
    ctx = FakeContext(events=[first, retried])
    result = run(purchase_approval.purchase_approval, ctx, order(5000))
    assert (result.status, result.approved_by) == ("approved", "Ann")
    assert activity_names(ctx) == ["request_approval", "place_order"]
    assert ctx.events == [retried]  # never read: it stays in the history and does nothing


def test_missing_threshold_falls_back_to_the_safe_default() -> None:
    unset = order(5000).model_copy(update={"approval_threshold": None})
    result = run(purchase_approval.purchase_approval, FakeContext(), unset)
    assert result.status == "cancelled"


def job(**state: object) -> monitor.MonitorInput:
    return monitor.MonitorInput(
        job_id="j", url="http://127.0.0.1:9/", max_checks=None, state=monitor.MonitorState(**state)
    )


@pytest.fixture
def target(monkeypatch: pytest.MonkeyPatch) -> dict[str, bool]:
    """Replace the HTTP check with a switch: target["healthy"]."""
    status = {"healthy": True}

    async def fake_check(ctx: object, url: str) -> monitor.CheckResult:
        return monitor.CheckResult(
            healthy=status["healthy"], status_code=200 if status["healthy"] else 503
        )

    fake_check.__name__ = "check_endpoint"
    monkeypatch.setattr(monitor, "check_endpoint", fake_check)
    return status


def test_monitor_alerts_once_when_target_turns_unhealthy(target: dict[str, bool]) -> None:
    target["healthy"] = False
    ctx = FakeContext()
    run(monitor.monitor, ctx, job(check_count=3, healthy=True))
    assert "send_alert" in activity_names(ctx)
    carried = ctx.continued_with.state
    assert (carried.check_count, carried.healthy, carried.alerts_sent) == (4, False, 1)
    assert ctx.timers == [ctx.current_utc_datetime + timedelta(seconds=5)]
    status = json.loads(ctx.custom_status or "{}")
    assert status["check_count"] == 4 and status["last_check"]["healthy"] is False


def test_monitor_does_not_alert_again_while_still_unhealthy(target: dict[str, bool]) -> None:
    target["healthy"] = False
    ctx = FakeContext()
    run(monitor.monitor, ctx, job(check_count=4, healthy=False, alerts_sent=1))
    assert "send_alert" not in activity_names(ctx)
    assert ctx.continued_with.state.alerts_sent == 1


def test_monitor_sleeps_the_healthy_interval_when_healthy(target: dict[str, bool]) -> None:
    ctx = FakeContext()
    run(monitor.monitor, ctx, job())
    assert ctx.timers == [ctx.current_utc_datetime + timedelta(seconds=60)]


def test_monitor_stops_after_max_checks(target: dict[str, bool]) -> None:
    ctx = FakeContext()
    payload = job(check_count=2).model_copy(update={"max_checks": 3})
    result = run(monitor.monitor, ctx, payload)
    assert result.check_count == 3 and ctx.continued_with is None and ctx.timers == []


def test_monitor_survives_an_alert_that_cannot_be_sent(
    target: dict[str, bool], monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken_alert(ctx: object, alert: monitor.Alert) -> None:
        raise RuntimeError("notifier down")

    broken_alert.__name__ = "send_alert"
    monkeypatch.setattr(monitor, "send_alert", broken_alert)
    target["healthy"] = False
    ctx = FakeContext()
    run(monitor.monitor, ctx, job(check_count=1, healthy=True))
    assert ctx.continued_with.state.alerts_sent == 0  # not sent, and the monitor goes on
    assert ctx.continued_with.state.check_count == 2


def test_idempotency_key_is_the_task_execution_id_not_the_task_id() -> None:
    from app.workflows.support import idempotency_key
    from tests.unit.fake_workflow import FakeActivityContext

    key = idempotency_key(FakeActivityContext())  # type: ignore[arg-type]
    assert key == "wf-1:00000000-0000-5000-8000-000000000007"
