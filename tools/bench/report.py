"""The figures: a table for the terminal and a JSON file under bench-results/."""

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tools.bench.measure import Result
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


def write(environment: dict[str, Any], results: list[Result]) -> Path:
    """The JSON report, named by the time it was written; returns its path."""
    report = {"environment": environment, "results": [r.summary() for r in results]}
    out = ROOT / "bench-results" / f"bench-{datetime.now(UTC):%Y%m%dT%H%M%S}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(report, indent=2))
    return out
