"""Helpers for the fault tests: count activity executions from the apps' logs, time recoveries.

The logs are the side channel: every execution of analyze_item and place_order writes one line,
and a restarted app appends to the same file.
"""

import re
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx

from tests.integration.polling import FINISHED, status
from tools.stack import Stack


def executions(stack: Stack, pattern: str) -> Counter[str]:
    """How often each item was processed, over every app replica's log."""
    counts: Counter[str] = Counter()
    for name, process in stack.processes.items():
        if name.startswith("app-") and process.log_path.exists():
            counts.update(re.findall(pattern, process.log_path.read_text(errors="replace")))
    return counts


def analysed(stack: Stack) -> Counter[str]:
    return executions(stack, r"analyze_item (\S+) \(")


def fan_out(api: httpx.Client, prefix: str, items: int, seconds: float, parallel: int) -> str:
    body = {
        "task_ids": [f"{prefix}-{i}" for i in range(items)],
        "work_seconds": seconds,
        "max_parallel": parallel,
    }
    response = api.post("/workflows/fan_out_fan_in", json=body)
    assert response.status_code == 202, response.text
    return str(response.json()["instance_id"])


def post_accepted(api: httpx.Client, path: str, body: Any, timeout: float = 60.0) -> int:
    """POST as a client should: on 503, wait Retry-After and try again. Returns the 503s seen."""
    deadline, refusals = time.monotonic() + timeout, 0
    while True:
        response = api.post(path, json=body)
        if response.status_code != 503 or time.monotonic() > deadline:
            assert response.status_code == 202, response.text
            return refusals
        refusals += 1
        time.sleep(float(response.headers.get("Retry-After", "1")))


def ready(api: httpx.Client) -> bool:
    try:
        return api.get("/readyz").status_code == 200
    except httpx.HTTPError:
        return False


def first_request_after_ready(row: "Recovery", api: httpx.Client, path: str, body: Any) -> None:
    """Wait for /readyz to answer 200, then time one mutating request, as a careful client
    would send it (on 503 it retries after Retry-After). The row keeps the first answer."""
    deadline = time.monotonic() + 120
    while not ready(api):
        assert time.monotonic() < deadline, "not ready after 120 s"
        time.sleep(0.1)
    started = time.monotonic()
    response = api.post(path, json=body)
    row.first_request_seconds = round(time.monotonic() - started, 2)
    row.first_request_status = response.status_code
    if response.status_code == 503:
        post_accepted(api, path, body)
    else:
        assert response.status_code == 202, response.text


def wait_all(
    api: httpx.Client, ids: list[str], timeout: float = 120.0
) -> dict[str, dict[str, Any]]:
    """Poll until every instance is finished; tolerates the service being down meanwhile."""
    deadline = time.monotonic() + timeout
    done: dict[str, dict[str, Any]] = {}
    while time.monotonic() < deadline and len(done) < len(ids):
        for iid in ids:
            if iid not in done and (body := status(api, iid)).get("runtime_status") in FINISHED:
                done[iid] = body
        time.sleep(0.25)
    missing = sorted(set(ids) - set(done))
    assert not missing, f"not finished after {timeout}s: {missing}"
    return done


@dataclass
class Recovery:
    """One row of the fault table: printed at the end of the run, copied into docs/guarantees.md."""

    fault: str
    in_flight: int = 0
    completed: int = 0
    lost: int = 0
    ran_twice: int = 0
    recovery_seconds: float = 0.0
    first_request_seconds: float | None = None
    first_request_status: int | None = None
    started: float = field(default_factory=time.monotonic)

    def finish(self, results: dict[str, dict[str, Any]], ran_twice: int = 0) -> None:
        self.completed = sum(r["runtime_status"] == "COMPLETED" for r in results.values())
        self.lost = self.in_flight - self.completed
        self.ran_twice = ran_twice
        self.recovery_seconds = round(time.monotonic() - self.started, 1)
        ROWS.append(self)

    def row(self) -> str:
        return (
            f"| {self.fault} | {self.in_flight} | {self.completed} | {self.lost} | "
            f"{self.ran_twice} | {self.recovery_seconds} s | {self._first_request()} |"
        )

    def _first_request(self) -> str:
        if self.first_request_seconds is None:
            return ""
        return f"{self.first_request_seconds} s ({self.first_request_status})"

    def assert_first_request_prompt(self) -> None:
        """After ready, the first change is accepted at once: the readiness check told the truth."""
        assert self.first_request_status == 202, self.row()
        assert self.first_request_seconds is not None and self.first_request_seconds < 2, self.row()


# Filled by the fault tests, printed at the end of the run (tests/integration/conftest.py).
ROWS: list[Recovery] = []
TABLE_HEADER = (
    "| fault | workflows in flight | completed | lost | activities run twice | "
    "time to recover | first request after ready (s) |\n|---|---|---|---|---|---|---|"
)
