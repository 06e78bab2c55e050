"""Workflows for `make bench` only, registered when APP_BENCHMARK_WORKFLOWS is true.

bench_chain runs `steps` activities one after another, the shape of Dapr's own performance suite
(a 5-step chain) and of the sequential baseline the fan-out is compared with.
"""

from collections.abc import Generator
from typing import Any

import dapr.ext.workflow as wf
from pydantic import BaseModel, ConfigDict, Field

from app.workflows.fan_out_fan_in import ItemInput, analyze_item

NAME = "bench_chain"


class ChainInput(BaseModel):
    model_config = ConfigDict(strict=True)  # no silent coercion of a caller's values

    steps: int = Field(5, ge=1, le=1000)
    work_seconds: float = Field(0.0, ge=0)


def bench_chain(ctx: wf.DaprWorkflowContext, chain: ChainInput) -> Generator[Any, Any, int]:
    """Run `steps` analyze_item activities in sequence; return the total score."""
    total = 0
    for step in range(chain.steps):
        item = ItemInput(task_id=f"{ctx.instance_id}-{step}", work_seconds=chain.work_seconds)
        result = yield ctx.call_activity(analyze_item, input=item)
        total += int(result["score"])
    return total
