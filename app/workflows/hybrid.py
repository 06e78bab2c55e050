"""hybrid: validate every task in parallel, then process the valid ones in parallel.

tasks --> [validate t1..tN] (parallel) --> valid? --none--> no_valid_items
                                             |some
                               [process v1..vK] (parallel) --> completed
"""

from collections.abc import Generator
from typing import Any, Literal

import dapr.ext.workflow as wf
from pydantic import BaseModel, ConfigDict, Field

from app.workflows import rules
from app.workflows.context import replay_safe_log
from app.workflows.declared import Declared
from app.workflows.retry import STEP_RETRY
from app.workflows.rules import Scored, TaskItem, Validation

NAME = "hybrid"
MAX_TASKS = 1000


class HybridInput(BaseModel):
    model_config = ConfigDict(strict=True)  # no silent coercion of a caller's values

    tasks: list[TaskItem] = Field(min_length=1, max_length=MAX_TASKS)


class HybridResult(BaseModel):
    status: Literal["completed", "no_valid_items"]
    validated: int
    processed: int
    rejected_ids: list[str]
    results: list[Scored]


def validate_item(ctx: wf.WorkflowActivityContext, task: TaskItem) -> Validation:
    """Check one task against the task rules."""
    return rules.validate(task)


def process_item(ctx: wf.WorkflowActivityContext, task: TaskItem) -> Scored:
    """Enrich and score one valid task."""
    return rules.score(rules.enrich(task))


def hybrid(ctx: wf.DaprWorkflowContext, batch: HybridInput) -> Generator[Any, Any, HybridResult]:
    """Fan out validation, keep the valid tasks, fan out processing."""
    checks = yield wf.when_all(
        [ctx.call_activity(validate_item, input=t, retry_policy=STEP_RETRY) for t in batch.tasks]
    )
    verdicts = [Validation.model_validate(c) for c in checks]
    valid = [t for t, v in zip(batch.tasks, verdicts, strict=True) if v.is_valid]
    rejected = [v.task_id for v in verdicts if not v.is_valid]
    if not valid:
        replay_safe_log(ctx, "no valid items among %d", len(batch.tasks))
        return HybridResult(
            status="no_valid_items",
            validated=len(verdicts),
            processed=0,
            rejected_ids=rejected,
            results=[],
        )
    processed = yield wf.when_all(
        [ctx.call_activity(process_item, input=t, retry_policy=STEP_RETRY) for t in valid]
    )
    return HybridResult(
        status="completed",
        validated=len(verdicts),
        processed=len(processed),
        rejected_ids=rejected,
        results=[Scored.model_validate(p) for p in processed],
    )


DECLARED = Declared(
    NAME,
    hybrid,
    HybridInput,
    example={
        "tasks": [
            {
                "task_id": "t1",
                "title": "URGENT: API outage",
                "description": "Payments API times out",
            },
            {"task_id": "t2", "title": "Bug", "description": "short"},
        ]
    },
    activities=lambda _: {"validate_item": validate_item, "process_item": process_item},
)
