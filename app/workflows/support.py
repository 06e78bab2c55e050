"""What every workflow module shares: replay-safe logging, retry policies, failure simulation."""

import logging
from datetime import timedelta
from typing import Any

import dapr.ext.workflow as wf

log = logging.getLogger("app.workflows")

# Activities that touch the outside world retry with exponential backoff: 1 s, 2 s, 4 s...
OUTSIDE_RETRY = wf.RetryPolicy(
    first_retry_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    max_number_of_attempts=4,
    max_retry_interval=timedelta(seconds=30),
)
# In-process steps retry quickly: a failure there is rarely transient.
STEP_RETRY = wf.RetryPolicy(
    first_retry_interval=timedelta(milliseconds=250),
    backoff_coefficient=2.0,
    max_number_of_attempts=3,
)

# Items whose id starts with this stand in for a downstream system that keeps failing, so that
# the failure paths can be seen from Swagger UI and are covered by the integration tests.
FAILING_PREFIX = "fail-"


class DownstreamError(RuntimeError):
    """A simulated downstream failure; retried, then reported."""


def fail_if_simulated(item_id: str, step: str) -> None:
    if item_id.startswith(FAILING_PREFIX):
        raise DownstreamError(f"{step} failed for {item_id!r}: downstream service unavailable")


def replay_safe_log(ctx: wf.DaprWorkflowContext, message: str, *args: Any) -> None:
    """Log once per real step, not again on every replay of the history."""
    if not ctx.is_replaying:
        log.info("[%s] " + message, ctx.instance_id, *args)


def idempotency_key(ctx: wf.WorkflowActivityContext) -> str:
    """The same for every retry of one activity call, different for any other call.

    The task id alone is not: a retry gets a new one, and continue-as-new starts again from 0. The
    task execution id is derived deterministically from the instance, the workflow clock and a
    counter, and the SDK keeps it across the retries of a call.
    """
    execution_id = ctx.get_inner_context().task_execution_id
    return f"{ctx.workflow_id}:{execution_id or ctx.task_id}"


def failure_reason(error: Exception) -> str:
    """The message of a failed task, without the SDK's wrapping."""
    details = getattr(error, "details", None)
    message = getattr(details, "message", None)
    return str(message or error)
