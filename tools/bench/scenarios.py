"""What `make bench` runs, in order: each scenario is data, run by the driver it names.

Counts are for a full run; --quick runs a fifth of each scaled count (never less than one).
"""

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, Literal

Payload = Callable[[int], Any]


@dataclass(frozen=True)
class Scenario:
    name: str
    workflow: str
    payload: Payload  # the input of the i-th workflow
    count: int
    concurrency: int
    activities_each: int
    driver: Literal["client", "http"] = "client"
    scaled: bool = True  # count shrinks with --quick
    quick: bool = True  # runs with --quick at all
    warm_up: bool = False  # run, but not reported

    def for_run(self, scale: float) -> "Scenario":
        count = max(1, int(self.count * scale)) if self.scaled else self.count
        return replace(self, count=count)


def chain(steps: int, work: float = 0.0) -> Payload:
    return lambda _: {"steps": steps, "work_seconds": work}


def fan(width: int, work: float = 0.0) -> Payload:
    return lambda i: {
        "task_ids": [f"w{width}-{i}-{n}" for n in range(width)],
        "work_seconds": work,
        "max_parallel": 100,
    }


TASK = {"task_id": "bench", "title": "URGENT: bench", "description": "Measure the API path"}

SCENARIOS: tuple[Scenario, ...] = (
    Scenario("warm-up", "bench_chain", chain(5), 60, 30, 5, warm_up=True),
    # The first run is the chain figure; all three together are the soak.
    Scenario("chain 5 steps, run 1", "bench_chain", chain(5), 300, 30, 5),
    Scenario("chain 5 steps, run 2", "bench_chain", chain(5), 300, 30, 5),
    Scenario("chain 5 steps, run 3", "bench_chain", chain(5), 300, 30, 5),
    Scenario("saturation", "bench_chain", chain(5), 1400, 350, 5),
    Scenario("fan-out width 5", "fan_out_fan_in", fan(5), 200, 50, 5),
    Scenario("fan-out width 100", "fan_out_fan_in", fan(100), 20, 5, 100),
    Scenario("fan-out width 1000", "fan_out_fan_in", fan(1000), 2, 1, 1000, scaled=False),
    Scenario("fan-out 50 x 2 s", "fan_out_fan_in", fan(50, 2.0), 1, 1, 50),
    Scenario("chain 50 x 2 s (sequential)", "bench_chain", chain(50, 2.0), 1, 1, 50, quick=False),
    Scenario("task_chaining via client", "task_chaining", lambda _: TASK, 300, 30, 3),
    Scenario(
        "task_chaining via HTTP API", "task_chaining", lambda _: TASK, 300, 30, 3, driver="http"
    ),
)


def selected(quick: bool) -> list[Scenario]:
    """The scenarios of a full or a quick run, their counts scaled to it."""
    scale = 0.2 if quick else 1.0
    return [s.for_run(scale) for s in SCENARIOS if s.quick or not quick]
