"""monitor: an eternal health check with durable timers and continue-as-new.

    [check_endpoint] --turned unhealthy?--> [send_alert] (once per transition)
          |
    custom status <- job, last result, check count, next check time
          |
    max_checks reached? --yes--> COMPLETED
          |no
    durable timer (healthy or unhealthy interval) --> continue as new, carrying the state

Version "v2" (the latest) also tells a human when a target it alerted about answers healthy
again ([send_alert] "recovered"); "v1", without that, stays registered for the generations that
started on it, and for monitors that started before the workflow had versions (the worker runs
those on the first version: app/sidecar/sdk.py). Each generation ends in continue-as-new, and
the next one starts on the latest: a running monitor moves to v2 at its next check.

Continue-as-new can drop an event raised at that instant (dapr/dapr#8277), so the monitor takes
none: stop it by terminating it, or give it max_checks.
"""

import asyncio
import json
from collections.abc import Callable, Coroutine, Generator
from datetime import timedelta
from functools import partial
from typing import Any

import dapr.ext.workflow as wf
import httpx
from pydantic import BaseModel, ConfigDict, Field, HttpUrl

from app.config import Settings
from app.security.addresses import TargetRefused
from app.security.egress import checked_client, policy_for
from app.workflows.context import idempotency_key, log, replay_safe_log
from app.workflows.declared import Declared
from app.workflows.retry import OUTSIDE_RETRY

NAME = "monitor"
# Called by name: the activity is made at registration, with the service's check policy.
CHECK_ENDPOINT = "check_endpoint"
# A blip is retried before it counts: 0.5 s, then 1 s.
CHECK_RETRY = wf.RetryPolicy(
    first_retry_interval=timedelta(milliseconds=500),
    backoff_coefficient=2.0,
    max_number_of_attempts=3,
)


class MonitorState(BaseModel):
    """What one generation hands the next through continue-as-new."""

    model_config = ConfigDict(strict=True)  # no silent coercion of a caller's values

    check_count: int = 0
    healthy: bool = True
    alerts_sent: int = 0
    alert_due: bool = False  # down, and the alert could not be sent: the next check tries again


class MonitorInput(BaseModel):
    model_config = ConfigDict(strict=True)  # no silent coercion of a caller's values

    job_id: str = Field(min_length=1, max_length=200, examples=["website-health"])
    url: HttpUrl = Field(examples=["http://localhost:8000/healthz"])
    healthy_interval_seconds: float = Field(60.0, ge=0.5, le=86_400)
    unhealthy_interval_seconds: float = Field(5.0, ge=0.5, le=86_400)
    max_checks: int | None = Field(
        None, ge=1, description="Stop after this many checks; none: run until terminated"
    )
    state: MonitorState = Field(
        default_factory=MonitorState, description="Carried between generations"
    )


class CheckResult(BaseModel):
    healthy: bool
    status_code: int | None = None
    detail: str = ""
    refused: bool = Field(False, description="The target's address is one a monitor may not check")


class Alert(BaseModel):
    job_id: str
    url: str
    detail: str
    recovered: bool = False  # v2: the target it alerted about answers healthy again


class MonitorResult(BaseModel):
    job_id: str
    check_count: int
    healthy: bool
    alerts_sent: int


# Opens the HTTP client a check uses; the service's (app/security/egress.py) checks every
# address a request would reach and raises TargetRefused before connecting to a refused one.
OpenClient = Callable[[], httpx.AsyncClient]
CheckEndpoint = Callable[[wf.WorkflowActivityContext, str], Coroutine[Any, Any, CheckResult]]


def check_endpoint_activity(open_client: OpenClient, timeout_seconds: float) -> CheckEndpoint:
    """The check_endpoint activity, bound to the client that enforces the service's policy and
    to the deadline of one whole check."""

    async def check_endpoint(ctx: wf.WorkflowActivityContext, url: str) -> CheckResult:
        """GET the url: healthy below 500. A transport error raises, so it is retried first.

        The host is resolved and checked at check time, and the request goes to the address
        that was checked; a refused target is reported, not retried. Only the status is read,
        and the whole check ends by the deadline: httpx's timeouts bound each read, so a server
        trickling its headers or body could otherwise hold the activity for ever.
        """
        try:
            async with asyncio.timeout(timeout_seconds):
                status = await _status_of(open_client, url)
        except TargetRefused as refused:
            log.warning("monitor target %s refused: %s", url, refused)
            return CheckResult(healthy=False, refused=True, detail=f"refused: {refused}")
        except TimeoutError:
            raise TimeoutError(f"no answer from {url} within {timeout_seconds:g} s") from None
        return CheckResult(healthy=status < 500, status_code=status, detail=f"HTTP {status}")

    return check_endpoint


async def _status_of(open_client: OpenClient, url: str) -> int:
    """The response's status; its body is never read (closing the stream drops it)."""
    # Redirects are not followed: a check must not be steered to another host.
    async with open_client() as client, client.stream("GET", url) as response:
        return response.status_code


def send_alert(ctx: wf.WorkflowActivityContext, alert: Alert) -> None:
    """Tell a human the target went down, or is back. The key lets a real notifier drop
    duplicates."""
    log.warning(
        "%s [%s] %s is %s: %s (key %s)",
        "RECOVERED" if alert.recovered else "ALERT",
        alert.job_id,
        alert.url,
        "healthy again" if alert.recovered else "unhealthy",
        alert.detail,
        idempotency_key(ctx),
    )


def monitor(
    ctx: wf.DaprWorkflowContext, job: MonitorInput
) -> Generator[Any, Any, MonitorResult | None]:
    """Check, alert on a healthy-to-unhealthy transition (at each next check while the alert
    could not be sent) and on the recovery after an alert, sleep durably, continue as new."""
    return (yield from _generation(ctx, job, recovery_notice=True))


def monitor_v1(
    ctx: wf.DaprWorkflowContext, job: MonitorInput
) -> Generator[Any, Any, MonitorResult | None]:
    """The monitor before recovery notices (version v1)."""
    return (yield from _generation(ctx, job, recovery_notice=False))


def _generation(
    ctx: wf.DaprWorkflowContext, job: MonitorInput, *, recovery_notice: bool
) -> Generator[Any, Any, MonitorResult | None]:
    try:
        check = CheckResult.model_validate(
            (yield ctx.call_activity(CHECK_ENDPOINT, input=str(job.url), retry_policy=CHECK_RETRY))
        )
    except wf.TaskFailedError as error:
        check = CheckResult(healthy=False, detail=f"unreachable: {error}")
    state = MonitorState(
        check_count=job.state.check_count + 1,
        healthy=check.healthy,
        alerts_sent=job.state.alerts_sent,
    )
    if not check.healthy and (job.state.healthy or job.state.alert_due):
        sent = yield from _alert(ctx, job, check)
        state.alerts_sent += sent
        state.alert_due = not sent
    elif recovery_notice and check.healthy and not job.state.healthy and not job.state.alert_due:
        yield from _alert(ctx, job, check, recovered=True)  # the alert it sent went out
    done = job.max_checks is not None and state.check_count >= job.max_checks
    interval = job.healthy_interval_seconds if check.healthy else job.unhealthy_interval_seconds
    next_check = ctx.current_utc_datetime + timedelta(seconds=interval)
    ctx.set_custom_status(
        json.dumps(
            {
                "job_id": job.job_id,
                "last_check": check.model_dump(),
                "check_count": state.check_count,
                "alerts_sent": state.alerts_sent,
                "next_check_at": None if done else next_check.isoformat(),
            }
        )
    )
    if done:
        replay_safe_log(ctx, "monitor %s stops after %d checks", job.job_id, state.check_count)
        return MonitorResult(job_id=job.job_id, **state.model_dump(exclude={"alert_due"}))
    yield ctx.create_timer(next_check)
    ctx.continue_as_new(job.model_copy(update={"state": state}))
    return None


def _alert(
    ctx: wf.DaprWorkflowContext, job: MonitorInput, check: CheckResult, recovered: bool = False
) -> Generator[Any, Any, int]:
    """Send the alert, retried; a notifier that stays down must not end an eternal monitor."""
    alert = Alert(job_id=job.job_id, url=str(job.url), detail=check.detail, recovered=recovered)
    try:
        yield ctx.call_activity(send_alert, input=alert, retry_policy=OUTSIDE_RETRY)
    except wf.TaskFailedError as error:
        replay_safe_log(ctx, "alert for %s not sent: %s", job.job_id, error)
        return 0
    return 1


def _target(job: MonitorInput, settings: Settings) -> MonitorInput:
    # What the URL alone shows is refused here; what only resolution shows, at check time.
    try:
        policy_for(settings).check_host(job.url.host or "")
    except TargetRefused as refused:
        raise ValueError(f"Monitor target refused: {refused}") from None
    return job


def _activities(settings: Settings) -> dict[str, Any]:
    check = check_endpoint_activity(
        partial(checked_client, settings), settings.monitor_check_timeout_seconds
    )
    return {CHECK_ENDPOINT: check, "send_alert": send_alert}


DECLARED = Declared(
    NAME,
    monitor,
    MonitorInput,
    versions=(("v1", monitor_v1), ("v2", monitor)),
    example={
        "job_id": "self-check",
        "url": "http://localhost:8000/healthz",
        "healthy_interval_seconds": 10,
        "unhealthy_interval_seconds": 2,
        "max_checks": 3,
    },
    activities=_activities,
    prepare=_target,
)
