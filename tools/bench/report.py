"""The figures: a table for the terminal and a JSON file under bench-results/."""

import json
import statistics
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tools.bench.measure import Result
from tools.bench.scenarios import GOALS
from tools.paths import ROOT


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


def ratios(rounds: list[list[Result]]) -> list[dict[str, Any]]:
    """Each goal whose two scenarios ran: the ratio of their wf/s in each round (both scenarios
    of a ratio from the same round), the median of those, and whether the goal is met: the median
    at least the goal, the worst round's p95 under its cap, no failure in any round."""
    by_round = [{r.name: r for r in results} for results in rounds]
    rows = []
    for goal in GOALS:
        pairs = []
        for by_name in by_round:
            measured, base = by_name.get(goal.scenario), by_name.get(goal.baseline)
            if measured is not None and base is not None and base.per_second:
                pairs.append((measured.per_second / base.per_second, measured))
        if not pairs:
            continue
        ratio = statistics.median(r for r, _ in pairs)
        p95 = max(m.percentile(0.95) for _, m in pairs)
        failures = sum(m.failures for _, m in pairs)
        met = ratio >= goal.at_least
        if goal.p95_ms is not None:
            met = met and p95 <= goal.p95_ms
        if goal.no_failures:
            met = met and not failures
        rows.append(
            {
                "goal": goal.what,
                "ratio": round(ratio, 3),
                "ratios": [round(r, 3) for r, _ in pairs],
                "at_least": goal.at_least,
                "p95_ms": round(p95),
                "p95_cap_ms": goal.p95_ms,
                "failures": failures,
                "met": met,
            }
        )
    return rows


def ratio_table(rows: list[dict[str, Any]]) -> str:
    head = (
        f"{'goal':42} {'median':>6} {'goal':>5} {'p95':>5} {'cap':>5} {'fail':>4}  met  "
        "ratio in each round"
    )
    lines = [head, "-" * len(head)]
    for row in rows:
        cap = row["p95_cap_ms"]
        lines.append(
            f"{row['goal']:42} {row['ratio']:6.2f} {row['at_least']:5.2f} {row['p95_ms']:5} "
            f"{cap if cap is not None else '':>5} {row['failures']:4}  "
            f"{'yes' if row['met'] else 'NO ':3}  {', '.join(f'{r:.2f}' for r in row['ratios'])}"
        )
    return "\n".join(lines)


def write(
    environment: dict[str, Any],
    results: list[Result],
    goals: list[dict[str, Any]],
    extra: dict[str, Any] | None = None,
) -> Path:
    """The JSON report, named by the time it was written; returns its path."""
    report = {
        "environment": environment,
        "results": [r.summary() for r in results],
        "ratios": goals,
        **(extra or {}),
    }
    out = ROOT / "bench-results" / f"bench-{datetime.now(UTC):%Y%m%dT%H%M%S}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(report, indent=2))
    return out
