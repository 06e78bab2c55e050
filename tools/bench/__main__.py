"""`make bench`: run the scenarios on a fresh local stack per store, print the tables, write the
figures. Redis, the reference, runs every scenario; SQLite and PostgreSQL the chain and fan-out
ones (stores.COMPARED); on each, 10,000 finished instances are then stored and listed.

The goals compare two scenarios of about 1.5-5 s each, and one such scenario's wf/s varies by up to
a fifth between identical runs on a quiet machine: a single ratio can miss a goal or meet it by
chance. So the scenarios the goals compare run in --rounds rounds (5 by default), and each goal
is judged on the median of its rounds' ratios, every round's ratio printed beside it."""

import argparse
import asyncio
import json
import logging
import os
import shutil
import sys

from tools.bench import report
from tools.bench.drivers import DRIVERS
from tools.bench.environment import environment
from tools.bench.measure import Result
from tools.bench.scenarios import IN_GOALS, SCENARIOS, Scenario, selected
from tools.bench.scrape import scrape_cost, scrape_line
from tools.bench.stores import COMPARED, STORED, Listing, listing_table, seed_and_list, side_by_side
from tools.paths import ROOT
from tools.stack import STORES, Stack

log = logging.getLogger("bench")
SETTLE_SECONDS = 3.0


async def run(stack: Stack, scenarios: list[Scenario]) -> list[Result]:
    """Each scenario in turn, after a pause that lets the runtime finish the last one's clean-up."""
    results = []
    for scenario in scenarios:
        await asyncio.sleep(SETTLE_SECONDS)
        result = await DRIVERS[scenario.driver](stack, scenario)
        log.info(
            "%-34s %7.1f wf/s  p95 %6.0f ms  failures %d  cpu s %s  %s",
            result.name,
            result.per_second,
            result.percentile(0.95),
            result.failures,
            result.cpu_by_process,
            result.note,
        )
        if not scenario.warm_up:
            results.append(result)
    return results


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    logging.getLogger("httpx").setLevel(logging.WARNING)
    parser = argparse.ArgumentParser(prog="python -m tools.bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a fifth of the workload")
    groups = sorted({s.group for s in SCENARIOS})
    parser.add_argument("--only", choices=groups, help="run one group of scenarios")
    parser.add_argument(
        "--app-env",
        action="append",
        default=[],
        metavar="APP_X=VALUE",
        help="an app setting for this run, to compare settings (repeatable)",
    )
    parser.add_argument(
        "--stores", default=",".join(STORES), help="comma-separated, of: " + ", ".join(STORES)
    )
    parser.add_argument("--stored", type=int, default=STORED, help="instances stored to list")
    parser.add_argument(
        "--rounds", type=int, default=5, help="runs of the scenarios the goals compare (median)"
    )
    args = parser.parse_args()
    stores = [s for s in args.stores.split(",") if s]
    if not stores or set(stores) - set(STORES):
        parser.error(f"--stores takes names of {', '.join(STORES)}")
    if args.rounds < 1:
        parser.error("--rounds is at least 1")
    # One driver from one address measures the machine, not admission: no start rate, no bound
    # on the worker's backlog (the sweeps go past it); a running cap above the 230 instances the
    # approvals scenario keeps running.
    env = {
        "APP_BENCHMARK_WORKFLOWS": "true",
        "APP_LOG_LEVEL": "WARNING",
        "APP_MAX_STARTS_PER_SECOND": "0",
        "APP_MAX_PENDING_WORK_ITEMS": "0",
        "APP_MAX_RUNNING_INSTANCES": "1000",
    }
    env.update(item.split("=", 1) for item in args.app_env)
    load_before = os.getloadavg()
    by_store: dict[str, list[Result]] = {}
    rounds: dict[str, list[list[Result]]] = {}
    seeds: dict[str, Result] = {}
    listings: list[Listing] = []
    scrapes: dict[str, dict[str, object]] = {}
    for store in stores:
        workdir = ROOT / ".run" / f"bench-{store}"
        shutil.rmtree(workdir, ignore_errors=True)  # every run starts from an empty store
        scenarios = [
            s for s in selected(args.quick, args.only) if store == "redis" or s.name in COMPARED
        ]
        log.info("== %s", store)
        with Stack(workdir, store=store, app_env=env) as stack:
            by_store[store] = asyncio.run(run(stack, scenarios))
            rounds[store] = [by_store[store]]
            again = [s for s in scenarios if s.name in IN_GOALS]
            if again:
                for n in range(2, args.rounds + 1):
                    log.info("== %s, round %d of the scenarios the goals compare", store, n)
                    rounds[store].append(asyncio.run(run(stack, again)))
            loaded = [r for r in by_store[store] if r.name == "HTTP long poll"]
            if loaded:
                scrapes[store] = scrape_cost(stack, loaded[0])
                log.info("%s", scrape_line(scrapes[store]))
            seeds[store], listed = asyncio.run(seed_and_list(stack, args.stored))
            listings.append(listed)
            log.info("%s", listed)
    machine = {**environment(stores), "app_env": env, "load_average_before": load_before}
    machine["load_average_after"] = os.getloadavg()
    reference = by_store.get("redis") or [r for rs in by_store.values() for r in rs]
    compared = rounds.get("redis") or [reference]
    extra = {
        "rounds": [[r.summary() for r in results] for results in compared[1:]],
        "by_store": {s: [r.summary() for r in rs] for s, rs in by_store.items()},
        "listing": [item.summary() for item in listings],
        "seeding": {s: r.summary() for s, r in seeds.items()},
        "scrape": scrapes,
    }
    goals = report.ratios(compared)
    out = report.write(machine, reference, goals, extra)
    sys.stdout.write(
        f"\n{json.dumps(machine)}\n\n{report.table(reference)}\n\n"
        f"{report.ratio_table(goals)}\n\n"
        f"{side_by_side(by_store)}\n\n{listing_table(listings, seeds)}\n\n"
        + "".join(f"{store}: {scrape_line(cost)}\n" for store, cost in scrapes.items())
        + f"\nfigures written to {out.relative_to(ROOT)}\n"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
