"""fan_out_fan_in: analyse a batch in parallel, at most max_parallel in flight, then aggregate.

             +--> [analyze_item id1] --+
task_ids ----+--> [analyze_item id2] --+--> aggregate (failures reported, never fatal)
             +--> [analyze_item idN] --+
"""

import asyncio
import hashlib
from collections.abc import Generator
from typing import Any

import dapr.ext.workflow as wf
from pydantic import BaseModel, Field

from app.workflows.support import (
    STEP_RETRY,
    fail_if_simulated,
    failure_reason,
    idempotency_key,
    log,
    replay_safe_log,
)

NAME = "fan_out_fan_in"
MAX_WORK_SECONDS = 300.0
MAX_ITEMS = 5000
MAX_PARALLEL = 1000


class FanOutInput(BaseModel):
    task_ids: list[str] = Field(
        min_length=1, max_length=MAX_ITEMS, examples=[["task-001", "task-002", "fail-003"]]
    )
    work_seconds: float = Field(
        0.0, ge=0.0, le=MAX_WORK_SECONDS, description="Simulated work per item"
    )
    max_parallel: int | None = Field(
        None, ge=1, le=MAX_PARALLEL, description="Activities in flight; default from settings"
    )


class ItemInput(BaseModel):
    task_id: str
    work_seconds: float = 0.0


class ItemResult(BaseModel):
    task_id: str
    succeeded: bool
    score: int = 0
    error: str | None = None


class FanOutResult(BaseModel):
    processed_count: int
    succeeded: int
    failed: int
    failure_ids: list[str]
    total_score: int
    average_score: float
    individual_results: list[ItemResult]


def item_score(task_id: str) -> int:
    """A deterministic score in 0..100 for an id: the same id always scores the same."""
    return int.from_bytes(hashlib.sha256(task_id.encode()).digest()[:4], "big") % 101


async def analyze_item(ctx: wf.WorkflowActivityContext, item: ItemInput) -> ItemResult:
    """Analyse one item; async, so hundreds can wait on I/O in one process."""
    log.info("analyze_item %s (%s)", item.task_id, idempotency_key(ctx))
    if item.work_seconds:
        await asyncio.sleep(item.work_seconds)
    fail_if_simulated(item.task_id, "analysis")
    return ItemResult(task_id=item.task_id, succeeded=True, score=item_score(item.task_id))


def aggregate(results: list[ItemResult]) -> FanOutResult:
    ok = [r for r in results if r.succeeded]
    total = sum(r.score for r in ok)
    return FanOutResult(
        processed_count=len(results),
        succeeded=len(ok),
        failed=len(results) - len(ok),
        failure_ids=[r.task_id for r in results if not r.succeeded],
        total_score=total,
        average_score=round(total / len(ok), 2) if ok else 0.0,
        individual_results=results,
    )


def fan_out_fan_in(
    ctx: wf.DaprWorkflowContext, batch: FanOutInput
) -> Generator[Any, Any, FanOutResult]:
    """Analyse every id in parallel, bounded by max_parallel; report failures per item."""
    limit = batch.max_parallel or len(batch.task_ids)
    scheduled: list[tuple[str, Any]] = []
    in_flight: list[Any] = []
    for task_id in batch.task_ids:
        if len(in_flight) >= limit:
            in_flight.remove((yield wf.when_any(in_flight)))
        item = ItemInput(task_id=task_id, work_seconds=batch.work_seconds)
        call = ctx.call_activity(analyze_item, input=item, retry_policy=STEP_RETRY)
        scheduled.append((task_id, call))
        in_flight.append(call)
    while in_flight:
        # when_any, not when_all: one failed item must not fail the batch.
        in_flight.remove((yield wf.when_any(in_flight)))
    result = aggregate([_item_result(task_id, call) for task_id, call in scheduled])
    replay_safe_log(ctx, "fan-out done: %d ok, %d failed", result.succeeded, result.failed)
    return result


def _item_result(task_id: str, call: Any) -> ItemResult:
    if call.is_failed:
        return ItemResult(
            task_id=task_id, succeeded=False, error=failure_reason(call.get_exception())
        )
    return ItemResult.model_validate(call.get_result())


WORKFLOWS = [fan_out_fan_in]
ACTIVITIES = [analyze_item]
