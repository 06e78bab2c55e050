"""The stores side by side: the same chain and fan-out scenarios on each, and how long listing
takes once 10,000 finished instances are stored.

Listing pages through the sidecar's ListInstanceIDs (the app's `GET /workflows` calls it, then
reads each instance of the page); Redis answers each page by scanning its keyspace.
"""

import time
from dataclasses import dataclass
from typing import Any

import httpx

from app.sidecar import WorkflowClient
from tools.bench.drivers import via_client
from tools.bench.measure import Result
from tools.bench.scenarios import Scenario, chain
from tools.launch import LOOPBACK
from tools.stack import Stack

# Scenario names (scenarios.py) run on every store; the rest only on Redis, the reference.
COMPARED = ("warm-up", "chain 5 steps, run 1", "fan-out width 5", "fan-out width 100")
STORED = 10_000
PAGE = 500


def seed_scenario(count: int) -> Scenario:
    """`count` one-step chains: finished instances for the listing to find."""
    return Scenario(f"store {count:,} one-step chains", "bench_chain", chain(1), count, 100, 1)


@dataclass
class Listing:
    store: str
    instances: int
    pages: int
    all_ids_seconds: float
    first_page_ms: float
    api_page_ms: float

    def summary(self) -> dict[str, Any]:
        return self.__dict__.copy()


async def listing(stack: Stack, seeded: Result) -> Listing:
    """Time paging through every instance id, and the API's first page of 50 statuses."""
    client = WorkflowClient(f"{LOOPBACK}:{stack.replicas[0].grpc_port}", timeout=120)
    try:
        started = time.perf_counter()
        ids, token = await client.list_ids(PAGE, None)
        first = time.perf_counter() - started
        found, pages = len(ids), 1
        while token:
            ids, token = await client.list_ids(PAGE, token)
            found, pages = found + len(ids), pages + 1
        every = time.perf_counter() - started
    finally:
        await client.close()
    async with httpx.AsyncClient(base_url=stack.replicas[0].url, timeout=120) as api:
        started = time.perf_counter()
        response = await api.get("/workflows", params={"page_size": 50})
        api_page = time.perf_counter() - started
        response.raise_for_status()
    assert found >= seeded.workflows - seeded.failures, (found, seeded.workflows)
    return Listing(
        stack.store, found, pages, round(every, 2), round(first * 1000), round(api_page * 1000)
    )


async def seed_and_list(stack: Stack, count: int) -> tuple[Result, Listing]:
    seeded = await via_client(stack, seed_scenario(count))
    return seeded, await listing(stack, seeded)


PROCESSES = ("app-0", "daprd-0", "scheduler", "placement", "store")


def cpu_per_activity(result: Result, store: str) -> dict[str, float]:
    """CPU ms per activity of each process; the store's server under "store" (none: SQLite)."""
    by_process = {
        ("store" if name == store else name): s for name, s in result.cpu_by_process.items()
    }
    if not result.activities:
        return {}
    return {p: round(by_process.get(p, 0.0) * 1000 / result.activities, 2) for p in PROCESSES}


def side_by_side(by_store: dict[str, list[Result]]) -> str:
    """Markdown: per compared scenario and store, wf/s, p95 and CPU per activity per process."""
    head = (
        "| scenario | store | wf/s | p95 ms | failures | CPU ms / activity: all | app | daprd "
        "| scheduler | placement | store server |\n|---|---|---|---|---|---|---|---|---|---|---|"
    )
    lines = [head]
    names = [n for n in COMPARED if n != "warm-up"]
    for name in names:
        for store, results in by_store.items():
            for r in (r for r in results if r.name == name):
                cpu = cpu_per_activity(r, store)
                total = r.summary()["cpu_ms_per_activity"] or 0
                lines.append(
                    f"| {name} | {store} | {r.per_second:.1f} | {r.percentile(0.95):,.0f} | "
                    f"{r.failures} | {total:.1f} | "
                    + " | ".join(f"{cpu[p]:.1f}" for p in PROCESSES)
                    + " |"
                )
    return "\n".join(lines)


def listing_table(listings: list[Listing], seeds: dict[str, Result]) -> str:
    lines = [
        "| store | instances stored | stored at (wf/s) | all ids, pages of 500 (s) | first page "
        "of 500 ids (ms) | `GET /workflows?page_size=50` (ms) |",
        "|---|---|---|---|---|---|",
    ]
    for item in listings:
        rate = seeds[item.store].per_second
        lines.append(
            f"| {item.store} | {item.instances:,} | {rate:.0f} | {item.all_ids_seconds} | "
            f"{item.first_page_ms:,.0f} | {item.api_page_ms:,.0f} |"
        )
    return "\n".join(lines)
