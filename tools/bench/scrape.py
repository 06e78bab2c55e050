"""What being scraped costs the app: the app's own CPU per scrape of /metrics (each taking the
readiness probe a scrape refreshes), with every series the scenarios before it made, against the
same time idle; then that cost at the cluster Prometheus' interval, as a share of the app's CPU
while it served a scenario at full load."""

import time
from typing import Any

import httpx

from tools.bench.measure import Result, _cpu_seconds
from tools.stack import Stack

SCRAPES = 20
APART_SECONDS = 1.1  # past the readiness answer's second of cache: each scrape probes, as at 5 s
INTERVAL_SECONDS = 5.0  # k8s/prometheus/prometheus.yml's scrape_interval


def scrape_cost(stack: Stack, loaded: Result) -> dict[str, Any]:
    app = stack.processes["app-0"].popen
    assert app is not None
    url = f"{stack.replicas[0].url}/metrics"

    def cpu_over(scrape: bool) -> tuple[float, int]:
        before, size = _cpu_seconds(app.pid, own=True), 0
        for _ in range(SCRAPES):
            if scrape:
                size = len(client.get(url).content)
            time.sleep(APART_SECONDS)
        return _cpu_seconds(app.pid, own=True) - before, size

    with httpx.Client(timeout=10) as client:
        client.get(url)
        idle, _ = cpu_over(scrape=False)
        scraped, size = cpu_over(scrape=True)
    per_scrape_ms = max(0.0, scraped - idle) * 1000 / SCRAPES
    app_cpu = loaded.cpu_by_process.get("app-0", 0.0) / loaded.seconds if loaded.seconds else 0.0
    share = per_scrape_ms / 1000 / INTERVAL_SECONDS / app_cpu if app_cpu else None
    return {
        "cpu_ms_per_scrape": round(per_scrape_ms, 2),
        "bytes_per_scrape": size,
        "loaded_scenario": loaded.name,
        "app_cpu_seconds_per_second_loaded": round(app_cpu, 3),
        "share_of_app_cpu_at_5s_interval_percent": round(share * 100, 3) if share else None,
    }


def scrape_line(cost: dict[str, Any]) -> str:
    return (
        f"/metrics: {cost['cpu_ms_per_scrape']} ms of the app's CPU a scrape "
        f"({cost['bytes_per_scrape']} bytes); every {INTERVAL_SECONDS:.0f} s that is "
        f"{cost['share_of_app_cpu_at_5s_interval_percent']} % of the app's CPU during "
        f"'{cost['loaded_scenario']}' ({cost['app_cpu_seconds_per_second_loaded']} CPU s/s)"
    )
