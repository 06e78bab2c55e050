"""Deploys while instances run, on the real sidecar and each store: the app started on older
code, instances left running, the app started again on this checkout's code.

- A version added to a workflow that had none: purchase_approval's budget check (v2). The orders
  waiting across the deploy finish on their old path (v1), new ones take the new path, and
  `make replay` passes before the deploy. The same from the deploy that had the check as a patch:
  an order that took it keeps its check on v1.
- A version: monitor's v2 (recovery notices). A generation that started on the unversioned code
  goes on on v1 (which v2 could not replay); the next one, after continue-as-new, runs v2.
"""

import json
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.integration.polling import start, wait_for, wait_until
from tests.integration.stacks import EVERY_STORE, running_stack
from tools import replay
from tools.paths import ROOT

pytestmark = pytest.mark.stores("sqlite", *EVERY_STORE)


def unversioned(
    into: Path, workflow: str, versions: str, first: str, edits: dict[str, str] | None = None
) -> Path:
    """This checkout's app/ with a workflow as it was before it had versions: its first
    version's code (with `edits` to its source), registered unversioned, as a running deploy
    would still have it."""
    shutil.copytree(ROOT / "app", into / "app", ignore=shutil.ignore_patterns("__pycache__"))
    module = into / "app" / "workflows" / f"{workflow}.py"
    source = module.read_text()
    declared = f"DECLARED = Declared(\n    NAME,\n    {workflow},\n"
    assert versions in source and declared in source
    source = source.replace(versions, "").replace(
        declared, declared.replace(f"{workflow},", f"{first},")
    )
    for old, new in (edits or {}).items():
        assert old in source
        source = source.replace(old, new)
    module.write_text(source)
    return into


BUDGET_VERSIONS = '    versions=(("v1", purchase_approval_v1), ("v2", purchase_approval)),\n'
PATCHED = "budget_check=ctx.is_patched(BUDGET_CHECK)"


def code_before_the_budget_check(into: Path) -> Path:
    edits = {PATCHED: "budget_check=False"}
    return unversioned(into, "purchase_approval", BUDGET_VERSIONS, "purchase_approval_v1", edits)


def code_with_the_budget_check_as_a_patch(into: Path) -> Path:
    return unversioned(into, "purchase_approval", BUDGET_VERSIONS, "purchase_approval_v1")


def order(cost: float) -> dict[str, object]:
    return {"order_id": "o", "product": "Laptop", "quantity": 1, "cost": cost}


def scheduled(api: httpx.Client, iid: str) -> list[str]:
    events = api.get(f"/workflows/{iid}/history").json()["events"]
    return [e["name"] for e in events if e["kind"] == "taskScheduled"]


def approved(api: httpx.Client, iid: str) -> str:
    response = api.post(f"/workflows/{iid}/events/approval_received", json={"approver": "Jane"})
    assert response.status_code == 202, response.text
    return str(wait_for(api, iid)["output"]["status"])


def test_orders_waiting_across_a_deploy_finish_on_their_old_path(
    store: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    old_code = code_before_the_budget_check(tmp_path / "old")
    with (
        running_stack(tmp_path / "stack", store, app_dir=old_code) as stack,
        httpx.Client(base_url=stack.replicas[0].url, timeout=30) as api,
    ):
        before = [start(api, "purchase_approval", order(cost)) for cost in (5000, 1_000_000)]
        for iid in before:
            wait_for(api, iid, {"RUNNING"})
            assert scheduled(api, iid) == ["request_approval"]  # waiting, unchecked
        assert replay.main(["--service", stack.replicas[0].url]) == 0  # the deploy is safe
        assert "2 of 2 histories" in capsys.readouterr().out

        stack.deploy()  # this checkout's code: the budget check as v2, v1 beside it

        over = wait_for(api, start(api, "purchase_approval", order(1_000_000)))
        assert over["output"]["status"] == "over_budget"
        after = start(api, "purchase_approval", order(5000))
        wait_for(api, after, {"RUNNING"})
        for iid in before:  # the one over the budget too: it started before the check
            assert approved(api, iid) == "approved"
            assert scheduled(api, iid) == ["request_approval", "place_order"]
        assert approved(api, after) == "approved"
        assert scheduled(api, after) == ["check_budget", "request_approval", "place_order"]
        for iid, version in ((before[0], "v1"), (after, "v2")):  # what /status shows
            assert api.get(f"/status/{iid}").json()["version"] == version


def test_an_order_that_took_the_budget_check_as_a_patch_keeps_it_across_the_deploy(
    store: str, tmp_path: Path
) -> None:
    old_code = code_with_the_budget_check_as_a_patch(tmp_path / "old")
    with (
        running_stack(tmp_path / "stack", store, app_dir=old_code) as stack,
        httpx.Client(base_url=stack.replicas[0].url, timeout=30) as api,
    ):
        waiting = start(api, "purchase_approval", order(5000))
        wait_for(api, waiting, {"RUNNING"})
        assert scheduled(api, waiting) == ["check_budget", "request_approval"]
        assert replay.main(["--service", stack.replicas[0].url]) == 0

        stack.deploy()

        assert approved(api, waiting) == "approved"
        assert scheduled(api, waiting) == ["check_budget", "request_approval", "place_order"]
        # daprd records the code the first step that reports any ran: here the patch, no version
        status = api.get(f"/status/{waiting}").json()
        assert status["version"] is None and status["patches"] == ["budget-check"], status


def code_before_monitor_versions(into: Path) -> Path:
    versions = '    versions=(("v1", monitor_v1), ("v2", monitor)),\n'
    return unversioned(into, "monitor", versions, "monitor_v1")


@contextmanager
def targets() -> Iterator[tuple[str, dict[str, int]]]:
    """An HTTP server on loopback answering each path with the status set for it (503 unset)."""
    statuses: dict[str, int] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(statuses.get(self.path, 503))
            self.end_headers()

        def log_message(self, *_: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", statuses
    finally:
        server.shutdown()
        server.server_close()


def monitor_of(url: str) -> dict[str, object]:
    # Down, it checks again in 0.5 s; healthy, it waits 8 s: time for a deploy in between.
    return {
        "job_id": "j",
        "url": url,
        "unhealthy_interval_seconds": 0.5,
        "healthy_interval_seconds": 8,
    }


def checked(api: httpx.Client, iid: str, healthy: bool, after: int = 0) -> dict[str, Any]:
    def seen() -> dict[str, Any]:
        status = api.get(f"/status/{iid}").json()
        assert status["runtime_status"] == "RUNNING", status
        custom = status["custom_status"] or {}
        last = custom.get("last_check") or {}
        return custom if last.get("healthy") is healthy and custom["check_count"] > after else {}

    return dict(wait_until(seen, 30, f"{iid} checked, healthy {healthy}"))


def generation(api: httpx.Client, iid: str) -> tuple[str | None, list[dict[str, Any]]]:
    """The current generation's version and the activities it called, with their inputs."""
    events = api.get(f"/workflows/{iid}/history").json()["events"]
    started = [e for e in events if e["kind"] == "workflowStarted"]
    versions = [e["details"].get("version", {}).get("name") for e in started]
    calls = [e for e in events if e["kind"] == "taskScheduled"]
    return next((v for v in versions if v), None), calls


def test_a_monitor_running_across_the_deploy_of_its_v2_goes_on_and_moves_to_v2(
    store: str, tmp_path: Path
) -> None:
    old_code = code_before_monitor_versions(tmp_path / "old")
    with (
        targets() as (base, statuses),
        running_stack(tmp_path / "stack", store, app_dir=old_code) as stack,
        httpx.Client(base_url=stack.replicas[0].url, timeout=30) as api,
    ):
        old = start(api, "monitor", monitor_of(f"{base}/old"))
        down = checked(api, old, healthy=False)
        wait_until(lambda: checked(api, old, False)["alerts_sent"] == 1, 30, "the alert")
        statuses["/old"] = 200
        # Back up: on v1 no recovery notice, and it waits 8 s. v2 could not replay this.
        up = checked(api, old, healthy=True, after=down["check_count"])
        version, calls = generation(api, old)
        assert version is None and [c["name"] for c in calls] == ["check_endpoint"]
        assert api.get(f"/status/{old}").json()["version"] is None

        stack.deploy()  # this checkout: monitor v1 and v2, the latest

        new = start(api, "monitor", monitor_of(f"{base}/new"))
        after_down = checked(api, new, healthy=False)
        wait_until(lambda: checked(api, new, False)["alerts_sent"] == 1, 30, "the new alert")
        statuses["/new"] = 200
        checked(api, new, healthy=True, after=after_down["check_count"])
        version, calls = generation(api, new)
        assert version == "v2" and [c["name"] for c in calls] == ["check_endpoint", "send_alert"]
        assert json.loads(calls[1]["details"]["input"])["recovered"] is True

        # The old one's generation ended on v1 (its timer, continue-as-new); the next ran v2.
        later = checked(api, old, healthy=True, after=up["check_count"])
        assert later["alerts_sent"] == 1
        assert generation(api, old)[0] == "v2"
        for iid in (old, new):
            assert api.get(f"/status/{iid}").json()["version"] == "v2"
        for iid in (old, new):
            assert api.post(f"/workflows/{iid}/terminate", json={}).status_code == 202
