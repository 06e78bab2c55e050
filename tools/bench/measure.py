"""What a run measures: wall time, per-workflow latency, failures, CPU and peak RSS per process."""

import asyncio
import os
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tools.stack import Stack
from tools.supervise import descendants, stat_fields


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
        self.pids["driver"] = os.getpid()  # the benchmark's own clients share the cores too
        self.peak: dict[str, float] = dict.fromkeys(self.pids, 0.0)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._cpu0 = self._cpu()

    def _cpu(self) -> dict[str, float]:
        """CPU seconds of each process and its descendants (PostgreSQL works in forked
        backends); the driver's own only, as the stack's processes are its descendants."""
        return {
            name: _cpu_seconds(pid, own=True)
            if name == "driver"
            else sum(_cpu_seconds(p) for p in (pid, *descendants(pid)))
            for name, pid in self.pids.items()
        }

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
        self.cpu_seconds = sum(v for n, v in self.cpu_by_process.items() if n != "driver")
        self.peak = {n: round(v, 1) for n, v in self.peak.items() if n in ("app-0", "daprd-0")}


def _cpu_seconds(pid: int, *, own: bool = False) -> float:
    """User and system time of the process, and unless `own` of its children it has reaped."""
    fields = stat_fields(pid)
    if fields is None:
        return 0.0  # gone meanwhile
    return sum(int(f) for f in fields[11 : 13 if own else 15]) / os.sysconf("SC_CLK_TCK")


async def drive(
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


async def measure(
    stack: Stack,
    name: str,
    count: int,
    concurrency: int,
    activities: int,
    one: Callable[[int], Awaitable[bool]],
) -> Result:
    """Drive `count` workflows through `one` while the meter watches the stack's processes."""
    with Meter(stack) as meter:
        seconds, latencies, failures = await drive(count, concurrency, one)
    return Result(
        name,
        count,
        concurrency,
        seconds,
        failures,
        latencies,
        activities=activities,
        cpu_seconds=meter.cpu_seconds,
        rss_mb=meter.peak,
        cpu_by_process=meter.cpu_by_process,
    )
