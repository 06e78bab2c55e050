"""Record every workflow branch's history from the real runtime into tests/histories/.

    python -m tools.record_histories        (make record-histories)

Starts a local stack (SQLite, in a temporary directory), drives each branch through the API as
the integration tests do, and writes each instance's history as the API returns it, finished or
caught waiting. `make unit` replays them against the current code (tests/unit/test_replay.py):
record again after a change that is meant to change what new instances do, and keep the old
files in a folder of their own (tests/histories/before-budget-check/, before-monitor-versions/)
while instances that started before it may still run: this writes and replaces only the files at
the top.
"""

import json
import logging
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from tools.paths import ROOT
from tools.stack import Stack

OUT = ROOT / "tests" / "histories"
ORDER = {"order_id": "o-1", "product": "Laptop", "quantity": 2, "cost": 5000}
TASK = {"task_id": "t-1", "title": "URGENT: fix login", "description": "SSO users get a 500"}
FINISHED = {"COMPLETED", "FAILED", "TERMINATED"}
log = logging.getLogger("record")


def _start(api: httpx.Client, workflow: str, payload: dict[str, Any], iid: str) -> str:
    body = {"workflow": workflow, "input": payload, "instance_id": iid}
    response = api.post("/start-workflow", json=body)
    response.raise_for_status()
    return iid


def _until(api: httpx.Client, iid: str, done: Callable[[dict[str, Any]], bool]) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        status = api.get(f"/status/{iid}").json()
        if done(status):
            return
        time.sleep(0.3)
    raise RuntimeError(f"{iid} did not get there: {status}")


def _finished(api: httpx.Client, iid: str) -> None:
    _until(api, iid, lambda s: s["runtime_status"] in FINISHED)


def _waiting(api: httpx.Client, iid: str) -> None:
    _until(api, iid, lambda s: bool(s.get("custom_status")))


def _approval(api: httpx.Client, iid: str, decision: dict[str, Any]) -> None:
    _waiting(api, iid)
    api.post(f"/workflows/{iid}/events/approval_received", json=decision).raise_for_status()
    _finished(api, iid)


def record(api: httpx.Client, health_url: str) -> list[str]:
    """Drive every branch; the ids whose histories to keep."""
    a = _start(api, "purchase_approval", ORDER, "approval-waiting")
    _waiting(api, a)
    _approval(
        api,
        _start(api, "purchase_approval", ORDER, "approval-approved"),
        {"approved": True, "approver": "Jane"},
    )
    _approval(
        api,
        _start(api, "purchase_approval", ORDER, "approval-rejected"),
        {"approved": False, "approver": "Bob"},
    )
    _finished(
        api,
        _start(
            api, "purchase_approval", {**ORDER, "approval_timeout_seconds": 1}, "approval-timed-out"
        ),
    )
    _finished(api, _start(api, "purchase_approval", {**ORDER, "cost": 10}, "approval-auto"))
    over = {**ORDER, "cost": 1_000_000}  # over the default budget
    _finished(api, _start(api, "purchase_approval", over, "approval-over-budget"))
    _finished(api, _start(api, "task_chaining", TASK, "chain-completed"))
    _finished(api, _start(api, "task_chaining", {**TASK, "title": "bug"}, "chain-rejected"))
    _finished(api, _start(api, "task_chaining", {**TASK, "task_id": "fail-1"}, "chain-failed"))
    _finished(
        api,
        _start(
            api,
            "fan_out_fan_in",
            {"task_ids": ["t-1", "t-2", "fail-3"], "work_seconds": 0.1},
            "fan-out-with-failure",
        ),
    )
    big = [f"t-{n}" for n in range(150)]
    _finished(
        api, _start(api, "fan_out_fan_in", {"task_ids": big, "work_seconds": 0}, "fan-out-children")
    )
    tasks = [TASK, {"task_id": "t-2", "title": "Bug", "description": "short"}]
    _finished(api, _start(api, "hybrid", {"tasks": tasks}, "hybrid-with-reject"))
    monitor = {"job_id": "self", "url": health_url, "healthy_interval_seconds": 0.5}
    _finished(api, _start(api, "monitor", {**monitor, "max_checks": 2}, "monitor-continued"))
    down = {**monitor, "url": "http://127.0.0.1:9/", "unhealthy_interval_seconds": 0.5}
    _finished(api, _start(api, "monitor", {**down, "max_checks": 1}, "monitor-alert"))
    waiting = _start(
        api, "monitor", {**monitor, "healthy_interval_seconds": 3600}, "monitor-waiting"
    )
    _waiting(api, waiting)
    children = [
        i["instance_id"]
        for i in api.get("/workflows").json()["instances"]
        if i["instance_id"].startswith("fan-out-children:")
    ]
    ids = [
        i["instance_id"]
        for i in api.get("/workflows", params={"page_size": 500}).json()["instances"]
    ]
    return [i for i in ids if ":" not in i] + sorted(children)[:1]


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    logging.getLogger("httpx").setLevel(logging.WARNING)
    env = {
        "APP_MONITOR_ALLOW_PRIVATE": "true",
        "APP_MAX_STARTS_PER_SECOND": "0",
        "APP_MAX_RUNNING_INSTANCES": "0",
        "APP_MAX_PENDING_WORK_ITEMS": "0",
    }
    with (
        tempfile.TemporaryDirectory() as work,
        Stack(Path(work), store="sqlite", app_env=env) as stack,
    ):
        base = stack.replicas[0].url
        with httpx.Client(base_url=base, timeout=30) as api:
            ids = record(api, f"{base}/healthz")
            OUT.mkdir(parents=True, exist_ok=True)
            for old in OUT.glob("*.json"):
                old.unlink()
            for iid in ids:
                events = api.get(f"/workflows/{iid}/history").json()["events"]
                name = iid.replace(":", "-")
                (OUT / f"{name}.json").write_text(
                    json.dumps({"instance_id": iid, "events": events}, indent=1) + "\n"
                )
                log.info("recorded %s: %d events", name, len(events))
    return 0


if __name__ == "__main__":
    sys.exit(main())
