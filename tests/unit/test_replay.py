"""The recorded histories (tests/histories, `make record-histories`) replay on the code as it is;
an edit that running instances could not replay fails here, naming the workflow and the fix."""

import functools
import json
from collections.abc import Generator
from pathlib import Path
from typing import Any

import dapr.ext.workflow as wf
import pytest

from app.sidecar import sdk
from app.workflows import purchase_approval
from app.workflows.purchase_approval import PurchaseOrder
from tools import replay
from tools.paths import ROOT

HISTORIES = sorted((ROOT / "tests" / "histories").rglob("*.json"))
# Recorded before purchase_approval's budget check: instances like these may still be waiting.
BEFORE_BUDGET_CHECK = ROOT / "tests" / "histories" / "before-budget-check"
# Recorded while the budget check was a patch, before v2: these may still be waiting too.
BUDGET_CHECK_PATCH = ROOT / "tests" / "histories" / "budget-check-patch"
KNOWN = replay.registry()


def _events(path: Path) -> list[dict[str, Any]]:
    return json.loads(path.read_text())["events"]  # type: ignore[no-any-return]


def test_every_branch_of_every_workflow_is_recorded() -> None:
    workflows = {replay.verdict(KNOWN, p.stem, _events(p)).workflow for p in HISTORIES}
    assert workflows == {
        "task_chaining",
        "fan_out_fan_in",
        "hybrid",
        "monitor",
        "purchase_approval",
    }
    assert len(HISTORIES) >= 15


@pytest.mark.parametrize("path", HISTORIES, ids=[p.stem for p in HISTORIES])
def test_the_code_replays_the_recorded_history(path: Path) -> None:
    found = replay.verdict(KNOWN, path.stem, _events(path))
    assert found.problem is None, (
        f"{found.workflow} no longer replays the history recorded in {path.name}: "
        f"{found.problem}. This change is not deterministic for instances already running; "
        f"{replay.FIX}"
    )


def _unversioned(ctx: wf.DaprWorkflowContext, order: PurchaseOrder) -> Generator[Any, Any, Any]:
    """purchase_approval's latest code registered alone: a deploy that replaced v1 with the
    budget check instead of adding it as v2, so that every instance checks."""
    return (yield from purchase_approval.purchase_approval(ctx, order))


@functools.cache  # the SDK registers a function once
def _with(workflow: Any) -> Any:
    runtime = wf.WorkflowRuntime()
    runtime.register_workflow(workflow, name=purchase_approval.NAME)
    return sdk.registry_of(runtime)


def test_an_unguarded_edit_is_named_with_the_step_that_differs_and_the_fix() -> None:
    path = BEFORE_BUDGET_CHECK / "approval-waiting.json"
    found = replay.verdict(_with(_unversioned), "order-7", _events(path))
    assert found.problem is not None
    assert "request_approval" in found.problem and "check_budget" in found.problem
    line = found.line()
    assert line.startswith("order-7 (purchase_approval): ")
    assert "ctx.is_patched" in line and "new version" in line


def test_the_budget_check_replays_the_approvals_from_before_it_only_as_a_version() -> None:
    """What `make replay` tells before v1 is unregistered: it may go once no instance that
    started before v2 is left."""
    before = sorted(BEFORE_BUDGET_CHECK.glob("approval-*.json"))
    after = [p for p in HISTORIES if p.parent.name == "histories" and "approval-" in p.stem]
    assert before and after
    for path in before + after:
        assert replay.verdict(KNOWN, path.stem, _events(path)).problem is None, path.name
    for path in before:
        assert replay.verdict(_with(_unversioned), path.stem, _events(path)).problem, path.name


def test_the_approvals_that_took_the_budget_check_as_a_patch_replay_on_v1() -> None:
    paths = sorted(BUDGET_CHECK_PATCH.glob("approval-*.json"))
    assert paths
    for path in paths:
        events = _events(path)
        first = next(e for e in events if e["kind"] == "workflowStarted")
        assert first["details"]["version"] == {"patches": ["budget-check"]}, path.name
        assert replay.verdict(KNOWN, path.stem, events).problem is None, path.name


def test_a_workflow_the_code_no_longer_has_is_named() -> None:
    path = BEFORE_BUDGET_CHECK / "approval-waiting.json"
    found = replay.verdict(sdk.registry_of(wf.WorkflowRuntime()), "x", _events(path))
    assert found.problem == "no workflow named 'purchase_approval' in this code"


def _versioned(*versions: str) -> Any:
    """purchase_approval registered under these version names, the last the latest."""
    runtime = wf.WorkflowRuntime()
    for version in versions:

        def same(ctx: wf.DaprWorkflowContext, order: PurchaseOrder) -> Generator[Any, Any, Any]:
            return (yield from purchase_approval.purchase_approval_v1(ctx, order))

        runtime.register_versioned_workflow(
            same,
            name=purchase_approval.NAME,
            version_name=version,
            is_latest=version == versions[-1],
        )
    return sdk.registry_of(runtime)


def test_an_instance_of_a_version_the_code_no_longer_has_is_named() -> None:
    events = _events(BEFORE_BUDGET_CHECK / "approval-waiting.json")
    for event in events:
        if event["kind"] == "workflowStarted":
            event["details"] = {"version": {"name": "v2"}}
    found = replay.verdict(_versioned("v1"), "order-8", events)
    assert found.problem is not None and "'v2'" in found.problem and "STALLED" in found.problem
    assert replay.verdict(_versioned("v1", "v2"), "order-8", events).problem is None
