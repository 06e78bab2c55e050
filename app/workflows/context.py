"""What workflows and activities read from the SDK's contexts: replay-safe logs, keys, failures."""

import logging
from typing import Any

import dapr.ext.workflow as wf

log = logging.getLogger("app.workflows")


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
