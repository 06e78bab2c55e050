"""The timeline picture's numbers: history events in, bars on a time axis out."""

from datetime import timedelta

from app.pages import timeline
from tests.unit.fakes import APPROVAL_HISTORY, T0, event


def test_activities_timers_waits_and_events_become_bars_and_marks() -> None:
    t = timeline.build(APPROVAL_HISTORY)
    rows = [(b.kind, b.label, b.start, b.end, b.outcome) for b in t.bars]
    assert rows == [
        ("workflow", "purchase_approval", 0.0, 3.4, "completed"),
        ("activity", "request_approval", 0.1, 0.4, "completed"),
        ("timer", "timer", 0.5, 3.4, "cancelled"),  # still set when the instance ended
        ("wait", "wait for ok", 0.5, 3.0, "received"),
        ("event", "ok", 3.0, 3.0, "instant"),
        ("activity", "place_order", 3.1, 3.3, "completed"),
    ]
    assert t.span == 3.4
    assert t.counts() == {"workflow": 1, "activity": 2, "timer": 1, "wait": 1, "event": 1}


def test_parallel_activities_overlap_and_a_chain_does_not() -> None:
    fan = [
        event(0, "executionStarted", 0, "fan_out_fan_in"),
        *(event(n, "taskScheduled", 0.1, "analyze_item") for n in (1, 2, 3)),
        event(-1, "taskCompleted", 1.0, taskScheduledId=2),
        event(-1, "taskFailed", 1.2, taskScheduledId=3, failureDetails={"errorMessage": "boom"}),
        event(-1, "taskCompleted", 1.5, taskScheduledId=1),
    ]
    bars = timeline.build(fan).bars[1:]
    assert {b.start for b in bars} == {0.1}
    assert [b.end for b in bars] == [1.5, 1.0, 1.2]
    assert (bars[2].outcome, bars[2].detail) == ("failed", "boom")


def test_child_workflows_close_by_their_scheduled_id() -> None:
    history = [
        event(0, "executionStarted", 0, "fan_out_fan_in"),
        event(1, "childWorkflowInstanceCreated", 0.2, "fan_out_fan_in", instanceId="big:part-0"),
        event(-1, "childWorkflowInstanceCompleted", 2.0, taskScheduledId=1),
    ]
    child = timeline.build(history).bars[1]
    assert (child.kind, child.detail, child.end) == ("child", "big:part-0", 2.0)


def test_a_running_instance_extends_open_bars_to_now() -> None:
    running = APPROVAL_HISTORY[:6]
    t = timeline.build(running, now=T0 + timedelta(seconds=10))
    assert t.span == 10.0
    drawn = timeline.draw(t)
    timer = next(d for d in drawn if d.bar.kind == "timer")
    assert timer.x + timer.width == timeline.WIDTH - timeline.PAD


def test_bars_beyond_the_limit_are_counted_not_drawn() -> None:
    history = [event(n, "taskScheduled", n / 10, "step") for n in range(timeline.MAX_BARS + 5)]
    t = timeline.build(history)
    assert (len(t.bars), t.hidden) == (timeline.MAX_BARS, 5)


def test_ticks_are_round_and_cover_the_span() -> None:
    assert timeline.nice_ticks(42) == [0, 10, 20, 30, 40]
    assert timeline.nice_ticks(1) == [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]
    assert [timeline.duration(s) for s in (0.5, 90, 7200, 172800)] == ["0.5s", "1.5m", "2h", "2d"]


def test_no_history_draws_nothing() -> None:
    assert timeline.build([]).bars == []


def test_a_retry_backoff_is_named_as_such() -> None:
    history = [
        event(0, "executionStarted", 0, "fan_out_fan_in"),
        event(1, "timerCreated", 1, fireAt="2026-01-01T00:00:02Z", activityRetry={}),
        event(-1, "timerFired", 2, timerId=1),
    ]
    backoff = timeline.build(history).bars[1]
    assert (backoff.label, backoff.end, backoff.outcome) == ("retry backoff", 2.0, "fired")
