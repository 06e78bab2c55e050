"""task_chaining: validate -> enrich -> score, each step feeding the next.

input -> [validate] --invalid--> rejected (score 0, every issue listed)
             |valid
         [enrich] -> [score] -> completed
a step that still fails after its retries -> [handle_chain_error] -> workflow FAILED
"""

from collections.abc import Generator
from datetime import UTC
from typing import Any, Literal

import dapr.ext.workflow as wf
from pydantic import BaseModel

from app.workflows import rules
from app.workflows.context import failure_reason, log, replay_safe_log
from app.workflows.declared import Declared
from app.workflows.downstream import fail_if_simulated
from app.workflows.retry import STEP_RETRY

NAME = "task_chaining"


class ChainResult(BaseModel):
    task_id: str
    status: Literal["completed", "rejected"]
    score: int
    tags: list[str]
    issues: list[str]
    processed_at: str


class ChainFailure(BaseModel):
    task_id: str
    step: str
    reason: str


class ChainStepFailed(Exception):
    """Raised by the workflow so that its status is FAILED with the step and the reason."""


def validate_task(ctx: wf.WorkflowActivityContext, task: rules.TaskItem) -> rules.Validation:
    """Check the task against the rules; list every problem."""
    return rules.validate(task)


def enrich_task(ctx: wf.WorkflowActivityContext, task: rules.TaskItem) -> rules.Enriched:
    """Tag the task from its title and description."""
    fail_if_simulated(task.task_id, "enrich")
    return rules.enrich(task)


def score_task(ctx: wf.WorkflowActivityContext, enriched: rules.Enriched) -> rules.Scored:
    """Score the task from its tags."""
    return rules.score(enriched)


def handle_chain_error(ctx: wf.WorkflowActivityContext, failure: ChainFailure) -> None:
    """Compensation point for a chain that could not finish: record it for an operator."""
    log.error("task %s failed at %s: %s", failure.task_id, failure.step, failure.reason)


def task_chaining(
    ctx: wf.DaprWorkflowContext, task: rules.TaskItem
) -> Generator[Any, Any, ChainResult]:
    """Run validate, enrich and score in sequence; reject invalid tasks early."""
    step = "validate"
    try:
        validation = rules.Validation.model_validate(
            (yield ctx.call_activity(validate_task, input=task, retry_policy=STEP_RETRY))
        )
        if not validation.is_valid:
            replay_safe_log(ctx, "task %s rejected: %s", task.task_id, validation.issues)
            return _result(
                ctx,
                task,
                "rejected",
                rules.Scored(task_id=task.task_id, tags=[], score=0),
                validation.issues,
            )
        step = "enrich"
        enriched = yield ctx.call_activity(enrich_task, input=task, retry_policy=STEP_RETRY)
        step = "score"
        scored = rules.Scored.model_validate(
            (yield ctx.call_activity(score_task, input=enriched, retry_policy=STEP_RETRY))
        )
    except wf.TaskFailedError as error:
        failure = ChainFailure(task_id=task.task_id, step=step, reason=failure_reason(error))
        yield ctx.call_activity(handle_chain_error, input=failure)
        raise ChainStepFailed(f"{step} failed for task {task.task_id}: {failure.reason}") from None
    replay_safe_log(ctx, "task %s scored %d", task.task_id, scored.score)
    return _result(ctx, task, "completed", scored, [])


def _result(
    ctx: wf.DaprWorkflowContext,
    task: rules.TaskItem,
    status: Literal["completed", "rejected"],
    scored: rules.Scored,
    issues: list[str],
) -> ChainResult:
    return ChainResult(
        task_id=task.task_id,
        status=status,
        score=scored.score,
        tags=scored.tags,
        issues=issues,
        processed_at=ctx.current_utc_datetime.replace(tzinfo=UTC).isoformat(),
    )


DECLARED = Declared(
    NAME,
    task_chaining,
    rules.TaskItem,
    example={
        "task_id": "task-001",
        "title": "URGENT: fix login",
        "description": "The login API returns 500 for SSO users",
    },
    activities=lambda _: {
        "validate_task": validate_task,
        "enrich_task": enrich_task,
        "score_task": score_task,
        "handle_chain_error": handle_chain_error,
    },
)
