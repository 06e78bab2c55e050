"""`make replay`: would the workflow code in this working tree replay every instance in flight?

    python -m tools.replay [--service URL] [--key KEY]      the service's unfinished instances
    python -m tools.replay FILE_OR_DIR...                   recorded histories (tests/histories)

Each history is fetched through the service's API (`GET /workflows`, then each instance's
`/history`) and run through the workflow code here, offline, with the SDK's own executor (the one
the worker runs, app/sidecar/sdk.py): no sidecar takes part. One line per instance that would
break, naming the first step that differs and what to do. Exit 0: every history replays; 1: at
least one would break; 2: the check is incomplete (the service could not be reached, refused the
key, or an instance went away during the check) and none of those read would break.
"""

import argparse
import asyncio
import functools
import json
import os
import re
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from app.config import Settings
from app.runtime import build_runtime
from app.sidecar import convert, sdk
from app.sidecar.sdk import pb

UNFINISHED = {"RUNNING", "PENDING", "SUSPENDED", "STALLED"}
FIX = (
    "register the change as a new version of the workflow (old instances keep the old code), or, "
    'for a workflow that receives no events, guard it with `if ctx.is_patched("<name>"):` '
    "(docs/changing-workflows.md)"
)
PAGE = 500
CONCURRENCY = 16


@dataclass(frozen=True)
class Verdict:
    instance_id: str
    workflow: str
    problem: str | None  # None: replays

    def line(self) -> str:
        return f"{self.instance_id} ({self.workflow}): {self.problem}; {FIX}"


def _first_difference(message: str) -> str:
    """The SDK's words for a history mismatch, without its boilerplate."""
    message = re.sub(
        r"^Failed to restore orchestration state due to a history mismatch: ", "", message
    )
    return re.split(r"( as part of rebuilding| This (kind of mismatch|problem) )", message)[0]


def verdict(registry: Any, instance_id: str, events: list[dict[str, Any]]) -> Verdict:
    history = [convert.history_event(e) for e in events]
    started = next((e.executionStarted for e in history if e.HasField("executionStarted")), None)
    workflow = started.name if started else "?"
    if started is None:
        return Verdict(instance_id, workflow, None)  # nothing has run yet: nothing to replay
    if not sdk.registers(registry, workflow):
        return Verdict(instance_id, workflow, f"no workflow named {workflow!r} in this code")
    results = sdk.replay(registry, instance_id, history)
    for action in results.actions:
        if action.HasField("workflowVersionNotAvailable"):
            version = _version(history)
            return Verdict(
                instance_id,
                workflow,
                f"its version {version!r} of {workflow!r} is not in this code: it would stall "
                "(STALLED, VERSION_NOT_AVAILABLE) until code with that version is deployed",
            )
        done = action.completeWorkflow
        if (
            action.HasField("completeWorkflow")
            and done.workflowStatus == pb.ORCHESTRATION_STATUS_FAILED
        ):
            failure = done.failureDetails
            if failure.errorType == "NonDeterminismError":
                return Verdict(instance_id, workflow, _first_difference(failure.errorMessage))
            if failure.errorType == _recorded_failure(history):
                continue  # it failed so the first time too
            return Verdict(
                instance_id,
                workflow,
                f"the code fails on this history: {failure.errorType}: {failure.errorMessage}",
            )
    return Verdict(instance_id, workflow, None)


def _version(history: list[Any]) -> str:
    """The workflow version the history was started on."""
    names = [e.workflowStarted.version.name for e in history if e.HasField("workflowStarted")]
    return next((name for name in names if name), "?")


def _recorded_failure(history: list[Any]) -> str | None:
    """The error type the history ended with, when it ended FAILED."""
    for event in history:
        done = event.executionCompleted
        if event.HasField("executionCompleted") and done.failureDetails.errorType:
            return str(done.failureDetails.errorType)
    return None


@functools.cache  # the SDK marks a function registered: one runtime per process
def registry() -> Any:
    """Every workflow this code registers, as the worker would (the benchmark's too)."""
    return sdk.registry_of(build_runtime(Settings(benchmark_workflows=True)))


class Incomplete(Exception):
    """The check could not read everything it had to."""


async def _service_histories(
    base: str, key: str | None
) -> tuple[dict[str, list[dict[str, Any]]], list[str]]:
    """Every unfinished instance's history; and what could not be read, said plainly."""
    headers = {"X-API-Key": key} if key else {}
    missing: list[str] = []
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=30) as api:
        try:
            ids = await _unfinished(api)
        except httpx.HTTPError as error:
            raise Incomplete(f"the service at {base} could not be reached: {error}") from None
        gate = asyncio.Semaphore(CONCURRENCY)

        async def one(iid: str) -> tuple[str, list[dict[str, Any]] | None]:
            async with gate:
                response = await api.get(f"/workflows/{iid}/history")
            if response.status_code == 404:
                missing.append(f"{iid}: purged or gone during the check")
                return iid, None
            if response.status_code != 200:
                missing.append(f"{iid}: history answered {response.status_code}")
                return iid, None
            return iid, response.json()["events"]

        read = await asyncio.gather(*(one(iid) for iid in ids))
    return {iid: events for iid, events in read if events is not None}, missing


async def _unfinished(api: httpx.AsyncClient) -> list[str]:
    ids: list[str] = []
    token: str | None = None
    while True:
        params: dict[str, Any] = {"page_size": PAGE}
        if token:
            params["continuation_token"] = token
        response = await api.get("/workflows", params=params)
        if response.status_code in (401, 403):
            raise Incomplete(f"the service refused the key: {response.status_code}")
        if response.status_code != 200:
            raise Incomplete(f"listing the instances answered {response.status_code}")
        page = response.json()
        ids += [i["instance_id"] for i in page["instances"] if i["runtime_status"] in UNFINISHED]
        token = page.get("continuation_token")
        if not token:
            return ids


def recorded(paths: Iterable[Path]) -> dict[str, list[dict[str, Any]]]:
    """Recorded histories (tests/histories, its folders too), by path without the .json (under
    a folder given: from there)."""
    named = {
        str(f.relative_to(p).with_suffix("")) if p.is_dir() else f.stem: f
        for p in paths
        for f in (sorted(p.rglob("*.json")) if p.is_dir() else [p])
    }
    return {name: json.loads(f.read_text())["events"] for name, f in named.items()}


def check(histories: dict[str, list[dict[str, Any]]]) -> list[Verdict]:
    known = registry()
    return [verdict(known, iid, events) for iid, events in sorted(histories.items())]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("paths", nargs="*", type=Path, help="recorded histories instead")
    parser.add_argument("--service", default=os.environ.get("SERVICE") or "http://localhost:8000")
    parser.add_argument("--key", default=os.environ.get("API_KEY") or None)
    args = parser.parse_args(argv)
    missing: list[str] = []
    try:
        if args.paths:
            histories, where = recorded(args.paths), ", ".join(map(str, args.paths))
        else:
            histories, missing = asyncio.run(_service_histories(args.service, args.key))
            where = args.service
    except Incomplete as why:
        sys.stderr.write(f"replay check incomplete: {why}\n")
        return 2
    verdicts = check(histories)
    broken = [v for v in verdicts if v.problem]
    for v in broken:
        sys.stdout.write(f"WOULD BREAK {v.line()}\n")
    for line in missing:
        sys.stdout.write(f"NOT CHECKED {line}\n")
    sys.stdout.write(
        f"{len(verdicts) - len(broken)} of {len(verdicts)} histories from {where} replay on this "
        f"code; {len(broken)} would break; {len(missing)} not checked\n"
    )
    return 1 if broken else 2 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
