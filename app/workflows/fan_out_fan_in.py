"""fan_out_fan_in: analyse a batch in parallel, at most max_parallel in flight, then aggregate.

             +--> [analyze_item id1] --+
task_ids ----+--> [analyze_item id2] --+--> aggregate (failures reported, never fatal)
             +--> [analyze_item idN] --+
"""

import asyncio
import hashlib
import json
from collections.abc import Callable, Generator
from typing import Any

import dapr.ext.workflow as wf
from pydantic import BaseModel, ConfigDict, Field

from app.config import Settings
from app.workflows.context import failure_reason, idempotency_key, log, replay_safe_log
from app.workflows.custom_status import DONE, TOTAL
from app.workflows.declared import Declared
from app.workflows.downstream import fail_if_simulated
from app.workflows.retry import STEP_RETRY

NAME = "fan_out_fan_in"
MAX_WORK_SECONDS = 300.0
MAX_ITEMS = 5000
MAX_PARALLEL = 1000
# Items one instance analyses itself; a larger batch is split into child instances of this size.
CHUNK = 100


class FanOutInput(BaseModel):
    model_config = ConfigDict(strict=True)  # no silent coercion of a caller's values

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
    """A score in 60..100, the analysis' range, and deterministic: the same id always scores the
    same (a rerun or a retried item gives the same result)."""
    return 60 + int.from_bytes(hashlib.sha256(task_id.encode()).digest()[:4], "big") % 41


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
    if len(batch.task_ids) <= CHUNK:
        items = [ItemInput(task_id=i, work_seconds=batch.work_seconds) for i in batch.task_ids]
        progress = Progress(ctx, [1] * len(items))
        calls = yield from _bounded([_activity(ctx, item) for item in items], limit, progress)
        results = [_item_result(i, call) for i, call in zip(batch.task_ids, calls, strict=True)]
    else:
        # A workflow replays its whole history at every step, so one history of thousands of
        # activities costs quadratic time: split the batch into child instances of CHUNK items.
        chunks = [batch.task_ids[i : i + CHUNK] for i in range(0, len(batch.task_ids), CHUNK)]
        parts = [
            FanOutInput(task_ids=c, work_seconds=batch.work_seconds, max_parallel=min(limit, CHUNK))
            for c in chunks
        ]
        progress = Progress(ctx, [len(c) for c in chunks])
        children = yield from _bounded(
            [_child(ctx, n, part) for n, part in enumerate(parts)],
            max(1, limit // CHUNK),
            progress,
        )
        results = [
            r for part, child in zip(parts, children, strict=True) for r in _part(part, child)
        ]
    result = aggregate(results)
    replay_safe_log(ctx, "fan-out done: %d ok, %d failed", result.succeeded, result.failed)
    return result


def _activity(ctx: wf.DaprWorkflowContext, item: ItemInput) -> Callable[[], Any]:
    return lambda: ctx.call_activity(analyze_item, input=item, retry_policy=STEP_RETRY)


def _child(ctx: wf.DaprWorkflowContext, n: int, part: FanOutInput) -> Callable[[], Any]:
    return lambda: ctx.call_child_workflow(
        NAME, input=part, instance_id=f"{ctx.instance_id}:part-{n}"
    )


class Progress:
    """Items done / total in the custom status, for the dashboard's progress bar.

    Derived only from the tasks that settled, so a replay sets the same values in the same order.
    """

    def __init__(self, ctx: wf.DaprWorkflowContext, sizes: list[int]) -> None:
        self.ctx, self.sizes, self.done = ctx, sizes, 0
        self._publish()

    def __call__(self, position: int) -> None:
        self.done += self.sizes[position]
        self._publish()

    def _publish(self) -> None:
        self.ctx.set_custom_status(json.dumps({DONE: self.done, TOTAL: sum(self.sizes)}))


def _bounded(
    starts: list[Callable[[], Any]], limit: int, settled: Callable[[int], None]
) -> Generator[Any, Any, list[Any]]:
    """Start the tasks with at most `limit` unfinished; return them all, finished, in order.

    when_any rather than when_all: a failed task must not fail the batch. `settled` gets the
    position of each task as it finishes.
    """
    tasks: list[Any] = []
    in_flight: list[Any] = []

    def settle(task: Any) -> None:
        in_flight.remove(task)
        settled(next(n for n, t in enumerate(tasks) if t is task))

    for start in starts:
        if len(in_flight) >= limit:
            settle((yield wf.when_any(in_flight)))
        tasks.append(start())
        in_flight.append(tasks[-1])
    while in_flight:
        settle((yield wf.when_any(in_flight)))
    return tasks


def _item_result(task_id: str, call: Any) -> ItemResult:
    if call.is_failed:
        return ItemResult(
            task_id=task_id, succeeded=False, error=failure_reason(call.get_exception())
        )
    return ItemResult.model_validate(call.get_result())


def _part(part: FanOutInput, child: Any) -> list[ItemResult]:
    """A child's item results; if the child itself failed, each of its items is reported failed."""
    if child.is_failed:
        error = failure_reason(child.get_exception())
        return [ItemResult(task_id=i, succeeded=False, error=error) for i in part.task_ids]
    return FanOutResult.model_validate(child.get_result()).individual_results


def _defaults(batch: FanOutInput, settings: Settings) -> FanOutInput:
    if batch.max_parallel is None:
        batch.max_parallel = settings.default_max_parallel
    return batch


DECLARED = Declared(
    NAME,
    fan_out_fan_in,
    FanOutInput,
    example={"task_ids": ["task-001", "task-002", "fail-003"], "work_seconds": 0.5},
    activities=lambda _: {"analyze_item": analyze_item},  # bench_chain calls it too
    prepare=_defaults,
)
