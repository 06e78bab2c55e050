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
    group: str = "runtime"  # --only runs one group (warm-ups run with every group)
    # http driver: each client polls /status every poll_seconds; None is the long poll (?wait=10)
    poll_seconds: float | None = None
    # http driver: this many purchase approvals waiting, each polled every poll_seconds by its own
    # client, while the scenario's workflows run (they long-poll)
    waiting_approvals: int = 0

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


def task(_: int) -> dict[str, str]:
    return TASK


HTTP: dict[str, Any] = {"driver": "http", "group": "api"}

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
    # The API: the same 300 task_chaining workflows, 30 in flight, as a client sees them.
    Scenario("direct client", "task_chaining", task, 300, 30, 3, group="api"),
    Scenario("HTTP long poll", "task_chaining", task, 300, 30, 3, **HTTP),
    Scenario("HTTP poll every 50 ms", "task_chaining", task, 300, 30, 3, **HTTP, poll_seconds=0.05),
    Scenario("HTTP poll every 10 ms", "task_chaining", task, 300, 30, 3, **HTTP, poll_seconds=0.01),
    Scenario("100 chains alone", "task_chaining", task, 100, 30, 3, **HTTP),
    Scenario(
        "100 chains + 200 approvals polled 20 Hz",
        "task_chaining",
        task,
        100,
        30,
        3,
        **HTTP,
        poll_seconds=0.05,
        waiting_approvals=200,
    ),
)


@dataclass(frozen=True)
class Goal:
    """A ratio of two scenarios' throughput, each pair from one round of one run, and an optional
    p95 cap."""

    what: str
    scenario: str
    baseline: str
    at_least: float
    p95_ms: float | None = None
    no_failures: bool = False


GOALS: tuple[Goal, ...] = (
    Goal("poll 50 ms vs long poll", "HTTP poll every 50 ms", "HTTP long poll", 0.90, p95_ms=1000),
    Goal(
        "poll 10 ms vs long poll", "HTTP poll every 10 ms", "HTTP long poll", 0.75, no_failures=True
    ),
    Goal(
        "chains with 200 polled approvals vs alone",
        "100 chains + 200 approvals polled 20 Hz",
        "100 chains alone",
        0.80,
    ),
    Goal("long poll vs direct client", "HTTP long poll", "direct client", 0.80, p95_ms=1000),
)


# The scenarios the goals compare: `--rounds` runs them again, each round in SCENARIOS' order.
IN_GOALS = frozenset(name for goal in GOALS for name in (goal.scenario, goal.baseline))


def selected(quick: bool, group: str | None = None) -> list[Scenario]:
    """The scenarios of a full or a quick run (of one group), their counts scaled to it."""
    scale = 0.2 if quick else 1.0
    return [
        s.for_run(scale)
        for s in SCENARIOS
        if (s.quick or not quick) and (group is None or s.group == group or s.warm_up)
    ]
