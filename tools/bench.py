"""`make bench`: throughput, latency, fan-out efficiency and memory on the real local stack.

Starts placement, scheduler, Redis, one daprd and one app process (tools/stack.py), drives them
from this process through the sidecar's gRPC API (as the app's own client does) and through the
HTTP API, prints a table and writes the figures to bench-results/<date>.json.

    python -m tools.bench [--quick]
"""

import argparse
import asyncio
import json
import logging
import os
import platform
import shutil
import sys
import threading
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from app.sidecar import WorkflowClient
from tools.dapr_runtime import dapr_version
from tools.paths import ROOT
from tools.stack import LOOPBACK, Stack

log = logging.getLogger("bench")
SETTLE_SECONDS = 3.0


@dataclass
class Result:
    name: str
    workflows: int
    concurrency: int
    seconds: float
    failures: int
    latencies_ms: list[float] = field(repr=False)
    activities: int = 0
    cpu_seconds: float = 0.0
    rss_mb: dict[str, float] = field(default_factory=dict)
    cpu_by_process: dict[str, float] = field(default_factory=dict)
    note: str = ""

    @property
    def per_second(self) -> float:
        return self.workflows / self.seconds if self.seconds else 0.0

    def percentile(self, q: float) -> float:
        if not self.latencies_ms:
            return 0.0
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    def summary(self) -> dict[str, Any]:
        per_activity = self.cpu_seconds * 1000 / self.activities if self.activities else None
        return {
            "name": self.name,
            "workflows": self.workflows,
            "concurrency": self.concurrency,
            "seconds": round(self.seconds, 2),
            "workflows_per_second": round(self.per_second, 1),
            "p50_ms": round(self.percentile(0.50)),
            "p95_ms": round(self.percentile(0.95)),
            "p99_ms": round(self.percentile(0.99)),
            "failures": self.failures,
            "activities": self.activities,
            "cpu_ms_per_activity": round(per_activity, 2) if per_activity else None,
            "peak_rss_mb": self.rss_mb,
            "cpu_seconds_by_process": self.cpu_by_process,
            "note": self.note,
        }


class Meter:
    """CPU time and peak RSS of the stack's processes while a run lasts (read from /proc)."""

    def __init__(self, stack: Stack) -> None:
        self.pids = {n: p.popen.pid for n, p in stack.processes.items() if p.popen}
        self.peak: dict[str, float] = dict.fromkeys(self.pids, 0.0)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._cpu0 = self._cpu()

    def _cpu(self) -> dict[str, float]:
        ticks = os.sysconf("SC_CLK_TCK")
        used = {}
        for name, pid in self.pids.items():
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            used[name] = (int(fields[11]) + int(fields[12])) / ticks
        return used

    def _rss(self, pid: int) -> float:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return 0.0

    def _sample(self) -> None:
        while not self._stop.wait(0.2):
            for name, pid in self.pids.items():
                self.peak[name] = max(self.peak[name], self._rss(pid))

    def __enter__(self) -> "Meter":
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()
        self.cpu_by_process = {n: round(v - self._cpu0[n], 2) for n, v in self._cpu().items()}
        self.cpu_seconds = sum(self.cpu_by_process.values())
        self.peak = {n: round(v, 1) for n, v in self.peak.items() if n in ("app-0", "daprd-0")}


async def _drive(
    count: int, concurrency: int, one: Callable[[int], Awaitable[bool]]
) -> tuple[float, list[float], int]:
    """Run `count` workflows, `concurrency` at a time; each call returns success."""
    gate = asyncio.Semaphore(concurrency)
    latencies: list[float] = []
    failures = 0

    async def run(i: int) -> None:
        nonlocal failures
        async with gate:
            started = time.perf_counter()
            ok = await one(i)
            latencies.append((time.perf_counter() - started) * 1000)
            failures += not ok

    started = time.perf_counter()
    await asyncio.gather(*(run(i) for i in range(count)))
    return time.perf_counter() - started, latencies, failures


@dataclass(frozen=True)
class Scenario:
    name: str
    workflow: str
    payload: Callable[[int], Any]
    count: int
    concurrency: int
    activities_each: int


async def _measure(stack: Stack, s: Scenario, one: Callable[[int], Awaitable[bool]]) -> Result:
    with Meter(stack) as meter:
        seconds, latencies, failures = await _drive(s.count, s.concurrency, one)
    return Result(
        s.name,
        s.count,
        s.concurrency,
        seconds,
        failures,
        latencies,
        activities=s.count * s.activities_each,
        cpu_seconds=meter.cpu_seconds,
        rss_mb=meter.peak,
        cpu_by_process=meter.cpu_by_process,
    )


async def via_client(stack: Stack, s: Scenario) -> Result:
    """Start and await workflows through the sidecar's gRPC API."""
    client = WorkflowClient(f"{LOOPBACK}:{stack.replicas[0].grpc_port}", timeout=60)
    prefix = uuid.uuid4().hex[:8]

    async def one(i: int) -> bool:
        iid = await client.start(s.workflow, s.payload(i), f"{prefix}-{i}")
        state = await client.wait(iid, timeout=600, payloads=False)
        return state is not None and state.runtime_status == "COMPLETED"

    try:
        return await _measure(stack, s, one)
    finally:
        await client.close()


async def via_http(stack: Stack, s: Scenario) -> Result:
    """As a user would: POST /start-workflow, then long-poll the status URL (?wait=10)."""
    limits = httpx.Limits(max_connections=s.concurrency)
    async with httpx.AsyncClient(base_url=stack.replicas[0].url, timeout=60, limits=limits) as api:

        async def one(i: int) -> bool:
            body = {"workflow": s.workflow, "input": s.payload(i)}
            try:
                started = await api.post("/start-workflow", json=body)
            except httpx.TransportError:
                return False
            if started.status_code != 202:
                return False
            while True:
                try:
                    url = started.headers["Location"]
                    state = (await api.get(url, params={"wait": 10})).json()
                except httpx.TransportError:
                    continue  # a keep-alive connection closed under us: poll again
                if state.get("runtime_status") in ("COMPLETED", "FAILED", "TERMINATED"):
                    return bool(state["runtime_status"] == "COMPLETED")

        result = await _measure(stack, s, one)
    result.note = "long polls /status?wait=10"
    return result


def chain(steps: int, work: float = 0.0) -> Callable[[int], Any]:
    return lambda _: {"steps": steps, "work_seconds": work}


def fan(width: int, work: float = 0.0) -> Callable[[int], Any]:
    return lambda i: {
        "task_ids": [f"w{width}-{i}-{n}" for n in range(width)],
        "work_seconds": work,
        "max_parallel": 100,
    }


TASK = {"task_id": "bench", "title": "URGENT: bench", "description": "Measure the API path"}


async def scenarios(stack: Stack, quick: bool) -> list[Result]:
    scale = 0.2 if quick else 1.0

    def n(count: int) -> int:
        return max(1, int(count * scale))

    results = []

    async def add(coro: Awaitable[Result]) -> None:
        await asyncio.sleep(SETTLE_SECONDS)  # let the runtime finish the last run's clean-up
        result = await coro
        results.append(result)
        log.info(
            "%-34s %7.1f wf/s  p95 %6.0f ms  failures %d  cpu s %s",
            result.name,
            result.per_second,
            result.percentile(0.95),
            result.failures,
            result.cpu_by_process,
        )

    chains = Scenario("warm-up", "bench_chain", chain(5), n(60), 30, 5)
    await add(via_client(stack, chains))
    results.clear()
    for run in (1, 2, 3):  # the first is the chain figure; all three are the soak
        await add(
            via_client(stack, replace(chains, name=f"chain 5 steps, run {run}", count=n(300)))
        )
    await add(via_client(stack, replace(chains, name="saturation", count=n(1400), concurrency=350)))
    for width, count, concurrency in ((5, n(200), 50), (100, n(20), 5), (1000, 2, 1)):
        await add(
            via_client(
                stack,
                Scenario(
                    f"fan-out width {width}",
                    "fan_out_fan_in",
                    fan(width),
                    count,
                    concurrency,
                    width,
                ),
            )
        )
    await add(
        via_client(stack, Scenario("fan-out 50 x 2 s", "fan_out_fan_in", fan(50, 2.0), 1, 1, 50))
    )
    if not quick:
        await add(
            via_client(
                stack,
                Scenario("chain 50 x 2 s (sequential)", "bench_chain", chain(50, 2.0), 1, 1, 50),
            )
        )
    tasks = Scenario("task_chaining via client", "task_chaining", lambda _: TASK, n(300), 30, 3)
    await add(via_client(stack, tasks))
    await add(via_http(stack, replace(tasks, name="task_chaining via HTTP API")))
    return results


def environment() -> dict[str, Any]:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gb": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        "python": platform.python_version(),
        "dapr_runtime": dapr_version(),
        "dapr_sdk": _version("dapr-ext-workflow"),
        "state_store": "redis (local, AOF)",
    }


def _version(package: str) -> str:
    from importlib.metadata import version

    return version(package)


def table(results: list[Result]) -> str:
    head = (
        f"{'scenario':34} {'wf':>5} {'conc':>4} {'secs':>7} {'wf/s':>7} {'p50':>6} "
        f"{'p95':>6} {'p99':>6} {'fail':>4} {'cpu ms/act':>10} {'app MB':>7} {'daprd MB':>8}"
    )
    lines = [head, "-" * len(head)]
    for r in results:
        s = r.summary()
        lines.append(
            f"{r.name:34} {r.workflows:5} {r.concurrency:4} {r.seconds:7.2f} {r.per_second:7.1f} "
            f"{s['p50_ms']:6} {s['p95_ms']:6} {s['p99_ms']:6} {r.failures:4} "
            f"{s['cpu_ms_per_activity'] or 0:10.2f} {r.rss_mb.get('app-0', 0):7.0f} "
            f"{r.rss_mb.get('daprd-0', 0):8.0f}"
        )
    return "\n".join(lines)


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    logging.getLogger("httpx").setLevel(logging.WARNING)
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a fifth of the workload")
    args = parser.parse_args()
    workdir = ROOT / ".run" / "bench"
    shutil.rmtree(workdir, ignore_errors=True)  # every run starts from an empty store
    env = {"APP_BENCHMARK_WORKFLOWS": "true", "APP_LOG_LEVEL": "WARNING"}
    with Stack(workdir, store="redis", app_env=env) as stack:
        results = asyncio.run(scenarios(stack, args.quick))
    report = {"environment": environment(), "results": [r.summary() for r in results]}
    out = ROOT / "bench-results" / f"bench-{datetime.now(UTC):%Y%m%dT%H%M%S}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(report, indent=2))
    sys.stdout.write(
        f"\n{json.dumps(report['environment'])}\n\n{table(results)}\n\n"
        f"figures written to {out.relative_to(ROOT)}\n"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
