"""monitor's decision paths, driven without a sidecar (tests/unit/fakes.py)."""

import asyncio
import json
import time
from collections.abc import AsyncIterator
from datetime import timedelta
from functools import partial
from typing import Any

import httpx
import pytest

from app.config import Settings
from app.security.egress import checked_client
from app.workflows import monitor
from tests.unit.fakes import FakeActivityContext, FakeContext, activity_names, run

pytestmark = pytest.mark.usefixtures("fake_composites")


def job(**state: object) -> monitor.MonitorInput:
    return monitor.MonitorInput.model_validate(
        {"job_id": "j", "url": "http://127.0.0.1:9/", "max_checks": None, "state": state}
    )


@pytest.fixture
def target(monkeypatch: pytest.MonkeyPatch) -> dict[str, bool]:
    """Replace the HTTP check with a switch: target["healthy"]."""
    status = {"healthy": True}

    async def fake_check(ctx: object, url: str) -> monitor.CheckResult:
        return monitor.CheckResult(
            healthy=status["healthy"], status_code=200 if status["healthy"] else 503
        )

    # The fake context registers its activities as the runtime does: through this factory.
    monkeypatch.setattr(monitor, "check_endpoint_activity", lambda *_: fake_check)
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


def test_monitor_v2_tells_of_the_recovery_after_an_alert_and_v1_does_not(
    target: dict[str, bool],
) -> None:
    was_down = job(check_count=4, healthy=False, alerts_sent=1)
    ctx = FakeContext()
    run(monitor.monitor, ctx, was_down)
    name, alert = ctx.calls[-1]
    assert (name, alert.recovered) == ("send_alert", True)
    assert ctx.continued_with.state.alerts_sent == 1  # alerts count alerts, not recoveries
    old = FakeContext()
    run(monitor.monitor_v1, old, was_down)
    assert "send_alert" not in activity_names(old)


def test_no_recovery_notice_when_the_alert_never_went_out(target: dict[str, bool]) -> None:
    ctx = FakeContext()
    run(monitor.monitor, ctx, job(check_count=4, healthy=False, alert_due=True))
    assert "send_alert" not in activity_names(ctx)


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
    working_alert = monitor.send_alert
    monkeypatch.setattr(monitor, "send_alert", broken_alert)
    target["healthy"] = False
    ctx = FakeContext()
    run(monitor.monitor, ctx, job(check_count=1, healthy=True))
    carried = ctx.continued_with.state
    assert (carried.alerts_sent, carried.check_count) == (0, 2)  # not sent, and it goes on
    assert carried.alert_due  # the next check, still down, tries again
    monkeypatch.setattr(monitor, "send_alert", working_alert)  # the notifier is back
    again = FakeContext()
    run(monitor.monitor, again, monitor.MonitorInput.model_validate(ctx.continued_with))
    assert "send_alert" in activity_names(again)
    assert (again.continued_with.state.alerts_sent, again.continued_with.state.alert_due) == (
        1,
        False,
    )


def test_check_refuses_a_host_outside_the_allow_list_without_a_request() -> None:
    settings = Settings(monitor_allowed_hosts="status.example.com")
    check = monitor.check_endpoint_activity(partial(checked_client, settings), 5)
    context: Any = FakeActivityContext()
    result = asyncio.run(check(context, "http://127.0.0.1:9/"))
    assert (result.healthy, result.refused) == (False, True)
    assert "APP_MONITOR_ALLOWED_HOSTS" in result.detail


class Trickle(httpx.AsyncByteStream):
    """A body that never ends: one byte now and then."""

    async def __aiter__(self) -> AsyncIterator[bytes]:
        while True:
            await asyncio.sleep(0.01)
            yield b"x"


class Stalling(httpx.AsyncBaseTransport):
    """A stand-in server: `headers_after` seconds to the status line, then a trickling body."""

    def __init__(self, headers_after: float = 0) -> None:
        self.headers_after = headers_after

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(self.headers_after)
        return httpx.Response(503, stream=Trickle())


def stalled_check(server: Stalling) -> monitor.CheckEndpoint:
    settings = Settings(monitor_allow_private=True)
    return monitor.check_endpoint_activity(partial(checked_client, settings, inner=server), 0.3)


def test_check_reads_the_status_and_not_a_body_that_never_ends() -> None:
    context: Any = FakeActivityContext()
    result = asyncio.run(stalled_check(Stalling())(context, "http://127.0.0.1:9/"))
    assert (result.healthy, result.status_code) == (False, 503)


def test_check_ends_by_its_deadline_when_the_answer_trickles() -> None:
    context: Any = FakeActivityContext()
    began = time.monotonic()
    with pytest.raises(TimeoutError, match=r"within 0\.3 s"):
        asyncio.run(stalled_check(Stalling(headers_after=60))(context, "http://127.0.0.1:9/"))
    assert time.monotonic() - began < 10
