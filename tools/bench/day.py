"""`make bench-day`, a day of purchases on one replica, each store: 10,000 approvals waiting for a
human and 1,000 monitors checking every minute; then new orders at a steady rate while 2,000
decisions arrive in a burst (and for a minute before it, the new orders alone); then the whole
stack restarted with all of it in flight.

    python -m tools.bench.day [--stores sqlite,redis,postgres] [--waiting 10000] [--monitors 1000]
                              [--census-seconds 60] [--dapr-limits WORKFLOWS,ACTIVITIES]

The service runs with its defaults but for the start rate per caller (off: the one driver here
stands for every caller) and the monitors' private-address rule (on, as with `make run`: they
check the app's own /healthz). A 429 is waited out (its Retry-After) and counted apart, never as
an error. Prints one table per store and writes the figures to bench-results/.
"""

import argparse
import asyncio
import json
import logging
import os
import shutil
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

from tools.bench.drivers import _session
from tools.bench.environment import environment
from tools.bench.measure import drive
from tools.paths import ROOT
from tools.stack import STORES, Stack
from tools.supervise import descendants

log = logging.getLogger("bench.day")
CLIENTS = 30  # callers at once
CALM_SECONDS = 60  # a monitor's interval
ORDER = {"product": "Laptop", "quantity": 1, "cost": 5000, "approval_timeout_seconds": 86_400}
ENV = {
    "APP_LOG_LEVEL": "WARNING",
    "APP_MAX_STARTS_PER_SECOND": "0",
    "APP_MONITOR_ALLOW_PRIVATE": "true",
}


class Calls:
    """Requests of one kind: latencies of those answered as hoped, errors, 429s waited out."""

    def __init__(self, name: str) -> None:
        self.name, self.errors, self.refused, self.seconds = name, 0, 0, 0.0
        self.latencies: list[float] = []
        self.statuses: dict[int, int] = {}

    async def call(self, send: Callable[[], Awaitable[aiohttp.ClientResponse]], ok: int) -> bool:
        started = time.perf_counter()
        while True:
            try:
                async with await send() as response:
                    await response.read()
                    status, retry = response.status, response.headers.get("Retry-After", "1")
            except aiohttp.ClientError:
                status, retry = 0, "0"
            if status != 429:
                break
            self.refused += 1
            await asyncio.sleep(float(retry))
        if status == ok:
            self.latencies.append((time.perf_counter() - started) * 1000)
            return True
        self.errors += 1
        self.statuses[status] = self.statuses.get(status, 0) + 1
        return False

    def summary(self) -> dict[str, Any]:
        ordered = sorted(self.latencies) or [0.0]
        return {
            "calls": len(self.latencies) + self.errors,
            "per_second": round(len(self.latencies) / self.seconds, 1) if self.seconds else None,
            "p50_ms": round(ordered[len(ordered) // 2]),
            "p95_ms": round(ordered[int(len(ordered) * 0.95) - 1 if len(ordered) > 1 else 0]),
            "errors": self.errors,
            "error_statuses": self.statuses,
            "refused_429": self.refused,
        }


async def _many(count: int, calls: Calls, one: Callable[[int], Awaitable[bool]]) -> Calls:
    calls.seconds, _, _ = await drive(count, CLIENTS, one)
    return calls


def _start(api: aiohttp.ClientSession, calls: Calls, workflow: str, iid: str, payload: Any) -> Any:
    body = {"workflow": workflow, "instance_id": iid, "input": payload}
    return calls.call(lambda: api.post("/start-workflow", json=body), 202)


def _decide(api: aiohttp.ClientSession, calls: Calls, iid: str) -> Any:
    url = f"/workflows/{iid}/events/approval_received"
    return calls.call(lambda: api.post(url, json={"approver": "Bench"}), 202)


async def _orders(
    api: aiohttp.ClientSession, orders: Calls, rate: float, stop: asyncio.Event, prefix: str
) -> None:
    """New approvals at `rate` a second, each a caller of its own, until `stop`."""
    n, begun, pending = 0, time.perf_counter(), []
    while not stop.is_set():
        iid = f"{prefix}-{n}"
        payload = {**ORDER, "order_id": iid}
        pending.append(asyncio.create_task(_start(api, orders, "purchase_approval", iid, payload)))
        n += 1
        await asyncio.sleep(max(0.0, begun + n / rate - time.perf_counter()))
    await asyncio.gather(*pending)
    orders.seconds = time.perf_counter() - begun


async def _until(
    api: aiohttp.ClientSession,
    iid: str,
    done: Callable[[dict[str, Any]], bool],
    timeout: float = 600,
) -> float:
    """Seconds until the instance's status satisfies `done`."""
    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        async with api.get(f"/status/{iid}") as response:
            if response.status == 200 and done(await response.json()):
                return time.perf_counter() - started
        await asyncio.sleep(0.2)
    raise TimeoutError(f"{iid}: not there within {timeout:.0f} s")


async def _median_ms(api: aiohttp.ClientSession, paths: list[str]) -> float:
    took = []
    for path in paths:
        started = time.perf_counter()
        async with api.get(path) as response:
            await response.read()
            assert response.status == 200, (path, response.status)
        took.append((time.perf_counter() - started) * 1000)
    return round(statistics.median(took), 1)


async def _census_seconds(api: aiohttp.ClientSession, instances: int) -> float | None:
    """How long the app's census of unfinished instances took, once one counted them all."""
    deadline = time.monotonic() + 150
    while time.monotonic() < deadline:
        async with api.get("/metrics") as response:
            text = await response.text()
        counted, took = 0.0, None
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                if sample.name == "workflow_instances_unfinished":
                    counted += sample.value
                elif sample.name == "workflow_census_duration_seconds":
                    took = sample.value
        if counted >= instances:
            return round(took, 1) if took is not None else None
        await asyncio.sleep(5)
    return None


def _rss_mb(stack: Stack) -> dict[str, float]:
    """Each process's resident memory, its children's too (PostgreSQL's backends)."""
    rss = {}
    for name, process in stack.processes.items():
        if process.popen is None:
            continue
        total = 0
        for pid in (process.popen.pid, *descendants(process.popen.pid)):
            status = Path(f"/proc/{pid}/status")
            if status.exists():
                line = next(
                    (x for x in status.read_text().splitlines() if x.startswith("VmRSS:")),
                    "VmRSS: 0 kB",
                )
                total += int(line.split()[1])
        rss[name] = round(total / 1024, 1)
    return rss


def _disk_mb(path: Path) -> float:
    files = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()]
    return round(sum(p.stat().st_size for p in files) / 1e6, 1)


def _store_mb(stack: Stack) -> dict[str, float]:
    data = stack.workdir / "data"
    store = {"sqlite": data, "redis": data / "redis", "postgres": data / "postgres"}[stack.store]
    if stack.store == "sqlite":
        return {"store": round(sum(_disk_mb(p) for p in data.glob("state.db*")), 1)}
    return {"store": _disk_mb(store)}


async def day(
    stack: Stack, waiting: int, monitors: int, burst: int, rate: float, census: bool = False
) -> dict[str, Any]:
    base = stack.replicas[0].url
    out: dict[str, Any] = {"store": stack.store, "waiting": waiting, "monitors": monitors}
    async with _session(base, CLIENTS + 10) as api:
        started = Calls("approvals started")
        await _many(
            waiting,
            started,
            lambda i: _start(
                api, started, "purchase_approval", f"day-{i}", {**ORDER, "order_id": f"day-{i}"}
            ),
        )
        watched = Calls("monitors started")
        await _many(
            monitors,
            watched,
            lambda i: _start(
                api,
                watched,
                "monitor",
                f"mon-{i}",
                {"job_id": f"mon-{i}", "url": f"{base}/healthz", "healthy_interval_seconds": 60},
            ),
        )
        settled = await _until(api, f"day-{waiting - 1}", lambda s: bool(s["custom_status"]))
        await asyncio.sleep(5)
        out["seeding"] = {
            "approvals": started.summary(),
            "monitors": watched.summary(),
            "last_waiting_after_s": round(settled, 1),
        }
        out["at_rest"] = {
            "rss_mb": _rss_mb(stack),
            **_store_mb(stack),
            "scheduler_mb": _disk_mb(stack.workdir / "data" / "scheduler"),
            # Distinct instances: a client polling one back to back is paced (docs/api.md).
            "status_ms": await _median_ms(api, [f"/status/day-{i}" for i in range(21)]),
            "list_page_50_ms": await _median_ms(api, ["/workflows?page_size=50"] * 5),
            "dashboard_ms": await _median_ms(api, ["/"] * 5),
            # with --census-seconds: how long a whole census took
            "census_s": await _census_seconds(api, waiting + monitors) if census else None,
        }
        out["at_rest"]["store_kb_per_instance"] = round(
            out["at_rest"]["store"] * 1000 / (waiting + monitors), 2
        )

        # New orders alone first, a whole monitor cycle long: what the replica admits while
        # thousands wait and monitors check; then the same rate while a burst of decisions lands.
        calm, stop = Calls("new orders, no burst"), asyncio.Event()
        calm_task = asyncio.create_task(_orders(api, calm, rate, stop, "calm"))
        await asyncio.sleep(CALM_SECONDS)
        stop.set()
        await calm_task
        out["calm"] = {"new_orders": calm.summary(), "seconds": CALM_SECONDS}

        decided, orders, stop = Calls("decisions"), Calls("new orders"), asyncio.Event()
        orders_task = asyncio.create_task(_orders(api, orders, rate, stop, "new"))
        await _many(burst, decided, lambda i: _decide(api, decided, f"day-{i}"))
        stop.set()
        await orders_task
        applied = await _until(
            api, f"day-{burst - 1}", lambda s: s["runtime_status"] == "COMPLETED"
        )
        out["burst"] = {
            "decisions": decided.summary(),
            "new_orders": orders.summary(),
            "steady_rate_asked": rate,
            "last_decision_applied_after_s": round(applied, 1),
            "rss_mb": _rss_mb(stack),
        }

    began = time.perf_counter()
    stack.stop()
    stack.start(timeout=600)
    ready = time.perf_counter() - began
    async with _session(base, 4) as api:
        first = Calls("first decision after the restart")
        assert await _decide(api, first, f"day-{burst}")
        await _until(api, f"day-{burst}", lambda s: s["runtime_status"] == "COMPLETED")
        out["restart"] = {
            "to_ready_s": round(ready, 1),
            "to_first_decision_applied_s": round(time.perf_counter() - began, 1),
        }
    return out


def table(results: list[dict[str, Any]]) -> str:
    rows: list[tuple[str, Callable[[dict[str, Any]], Any]]] = [
        (
            "approvals started /s (p50/p95 ms, errors, 429s)",
            lambda r: _rate(r["seeding"]["approvals"]),
        ),
        ("monitors started /s", lambda r: _rate(r["seeding"]["monitors"])),
        (
            "new orders /s, no burst (asked)",
            lambda r: f"{_rate(r['calm']['new_orders'])} ({r['burst']['steady_rate_asked']:g})",
        ),
        ("decisions /s in the burst", lambda r: _rate(r["burst"]["decisions"])),
        (
            "new orders /s meanwhile (asked)",
            lambda r: f"{_rate(r['burst']['new_orders'])} ({r['burst']['steady_rate_asked']:g})",
        ),
        ("RSS MB at rest: app, daprd, scheduler, store", lambda r: _rss(r["at_rest"]["rss_mb"])),
        (
            "store on disk MB (KB per instance)",
            lambda r: f"{r['at_rest']['store']} ({r['at_rest']['store_kb_per_instance']})",
        ),
        ("scheduler data MB", lambda r: r["at_rest"]["scheduler_mb"]),
        (
            "/status ms, list page of 50 ms, dashboard ms",
            lambda r: "{status_ms}, {list_page_50_ms}, {dashboard_ms}".format(**r["at_rest"]),
        ),
        (
            "census of every unfinished instance s",
            lambda r: r["at_rest"].get("census_s") or "not measured (--census-seconds)",
        ),
        (
            "restart: to ready s, to first decision applied s",
            lambda r: "{to_ready_s}, {to_first_decision_applied_s}".format(**r["restart"]),
        ),
    ]
    head = (
        "| | "
        + " | ".join(f"{r['store']} ({r['waiting']:,} + {r['monitors']:,})" for r in results)
        + " |"
    )
    lines = [head, "|---" * (len(results) + 1) + "|"]
    lines += [
        f"| {name} | " + " | ".join(str(cell(r)) for r in results) + " |" for name, cell in rows
    ]
    return "\n".join(lines)


def _rate(s: dict[str, Any]) -> str:
    return f"{s['per_second']} ({s['p50_ms']}/{s['p95_ms']}, {s['errors']}, {s['refused_429']})"


def _rss(rss: dict[str, float]) -> str:
    store = next((v for k, v in rss.items() if k in ("redis", "postgres")), None)
    return (
        f"{rss.get('app-0')}, {rss.get('daprd-0')}, {rss.get('scheduler')}, {store or 'in daprd'}"
    )


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    logging.getLogger("httpx").setLevel(logging.WARNING)
    parser = argparse.ArgumentParser(prog="python -m tools.bench.day", description=__doc__)
    parser.add_argument("--stores", default=",".join(STORES))
    parser.add_argument("--waiting", type=int, default=10_000, help="approvals left waiting")
    parser.add_argument("--monitors", type=int, default=1_000)
    parser.add_argument("--burst", type=int, default=2_000, help="decisions arriving at once")
    parser.add_argument("--rate", type=float, default=10.0, help="new orders a second meanwhile")
    parser.add_argument(
        "--census-seconds",
        type=float,
        help="the app's census interval (APP_CENSUS_SECONDS), and how long one took at rest",
    )
    parser.add_argument(
        "--dapr-limits",
        metavar="WORKFLOWS,ACTIVITIES",
        help="daprd's maxConcurrentWorkflowInvocations and maxConcurrentActivityInvocations",
    )
    args = parser.parse_args()
    stores = [s for s in args.stores.split(",") if s]
    if not stores or set(stores) - set(STORES) or args.burst >= args.waiting:
        parser.error(f"--stores of {', '.join(STORES)}; --burst below --waiting")
    limits = {}
    if args.dapr_limits:
        workflows, activities = (int(n) for n in args.dapr_limits.split(","))
        limits = {
            "maxConcurrentWorkflowInvocations": workflows,
            "maxConcurrentActivityInvocations": activities,
        }
    census = bool(args.census_seconds)
    env = ENV | ({"APP_CENSUS_SECONDS": f"{args.census_seconds:g}"} if census else {})
    load_before = os.getloadavg()
    results = []
    for store in stores:
        workdir = ROOT / ".run" / f"bench-day-{store}"
        shutil.rmtree(workdir, ignore_errors=True)
        log.info("== %s: %d approvals, %d monitors", store, args.waiting, args.monitors)
        with Stack(workdir, store=store, app_env=env, workflow_settings=limits) as stack:
            results.append(
                asyncio.run(day(stack, args.waiting, args.monitors, args.burst, args.rate, census))
            )
        log.info("%s", json.dumps(results[-1]))
    machine = {
        **environment(stores),
        "app_env": env,
        "dapr_workflow_settings": limits,
        "load_average_before": load_before,
        "load_average_after": os.getloadavg(),
    }
    out = ROOT / "bench-results" / f"day-{datetime.now(UTC):%Y%m%dT%H%M%S}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps({"environment": machine, "days": results}, indent=2))
    sys.stdout.write(
        f"\n{json.dumps(machine)}\n\n{table(results)}\n\nfigures written to "
        f"{out.relative_to(ROOT)}\n"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
