"""`make bench`: run the scenarios on a fresh local stack, print the table, write the figures."""

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
from tools.bench.scenarios import SCENARIOS, Scenario, selected
from tools.paths import ROOT
from tools.stack import Stack

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
    args = parser.parse_args()
    workdir = ROOT / ".run" / "bench"
    shutil.rmtree(workdir, ignore_errors=True)  # every run starts from an empty store
    # One driver from one address measures the machine, so no start rate; the running cap stays,
    # above the 230 instances the approvals scenario keeps running.
    env = {
        "APP_BENCHMARK_WORKFLOWS": "true",
        "APP_LOG_LEVEL": "WARNING",
        "APP_MAX_STARTS_PER_SECOND": "0",
        "APP_MAX_RUNNING_INSTANCES": "1000",
    }
    env.update(item.split("=", 1) for item in args.app_env)
    load_before = os.getloadavg()
    with Stack(workdir, store="redis", app_env=env) as stack:
        results = asyncio.run(run(stack, selected(args.quick, args.only)))
    machine = {**environment(), "app_env": env, "load_average_before": load_before}
    machine["load_average_after"] = os.getloadavg()
    out = report.write(machine, results)
    sys.stdout.write(
        f"\n{json.dumps(machine)}\n\n{report.table(results)}\n\n"
        f"{report.ratio_table(report.ratios(results))}\n\n"
        f"figures written to {out.relative_to(ROOT)}\n"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
