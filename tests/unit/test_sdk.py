"""The SDK's private pieces the service uses (app/sidecar/sdk.py): still where they were, and the
executor's pause and resume that mean nothing in the state ignored instead of fatal."""

import logging
import threading
from typing import Any

import dapr.ext.workflow as wf
import pytest
from dapr.ext.workflow._durabletask.internal import helpers
from prometheus_client import REGISTRY

from app.sidecar import sdk
from app.sidecar.sdk import LifecycleSafeExecutor, pb


def test_the_private_sdk_names_the_service_uses_are_where_they_were() -> None:
    """An SDK upgrade that moves one of these breaks the sidecar client, the worker's fix or
    `make replay`: move the import in app/sidecar/sdk.py to where the SDK now keeps it."""
    needed = {
        sdk.pb: [
            "CreateInstanceRequest",
            "GetInstanceHistoryRequest",
            "ListInstanceIDsRequest",
            "RerunWorkflowFromEventRequest",
            "HistoryEvent",
            "SuspendRequest",
        ],
        sdk.stubs: ["TaskHubSidecarServiceStub"],
        sdk.worker: ["_OrchestrationExecutor", "_Registry"],
    }
    missing = [
        f"{module.__name__}.{name}"
        for module, names in needed.items()
        for name in names
        if not hasattr(module, name)
    ]
    assert not missing, f"the workflow SDK no longer has {missing}: see app/sidecar/sdk.py"
    runtime = wf.WorkflowRuntime()
    assert sdk.pending_work(runtime) == 0
    queues = runtime._WorkflowRuntime__worker._async_worker_manager  # type: ignore[attr-defined]
    assert hasattr(queues, "activity_queue") and hasattr(queues, "orchestration_queue"), (
        "the SDK's worker no longer keeps its work in activity_queue and orchestration_queue: "
        "sdk.pending_work (app/sidecar/sdk.py) must follow it, or admission sees no backlog"
    )
    executor = sdk.worker._OrchestrationExecutor.__init__
    assert "_is_suspended" in executor.__code__.co_names, (
        "the SDK's executor no longer tracks suspension in _is_suspended: "
        "LifecycleSafeExecutor (app/sidecar/sdk.py) must follow it"
    )
    context = sdk.worker._RuntimeOrchestrationContext.__init__
    assert "_orchestrator_version_name" in context.__code__.co_names, (
        "the SDK's context no longer keeps a history's version in _orchestrator_version_name: "
        "LifecycleSafeExecutor (app/sidecar/sdk.py) must follow it"
    )
    assert hasattr(sdk.worker._Registry(), "versioned_orchestrators")  # type: ignore[no-untyped-call]


def _waiter(ctx: Any, _: Any) -> Any:
    return (yield ctx.wait_for_external_event("go"))


def _replay(old: list[Any], new: list[Any]) -> Any:
    """The executor's results for a history, run where an endless loop shows as a timeout."""
    registry = sdk.worker._Registry()  # type: ignore[no-untyped-call]
    registry.add_named_orchestrator("waiter", _waiter)
    executor = LifecycleSafeExecutor(registry, logging.getLogger("test"))
    results: list[Any] = []
    thread = threading.Thread(
        target=lambda: results.append(executor.execute("i", old, new)), daemon=True
    )
    thread.start()
    thread.join(timeout=5)
    assert results, "the executor did not return: it loops on this history"
    return results[0]


def _started() -> list[Any]:
    return [
        helpers.new_workflow_started_event(),
        helpers.new_execution_started_event("waiter", "i"),
    ]


def _status(results: Any) -> Any:
    completions = [a.completeWorkflow for a in results.actions if a.HasField("completeWorkflow")]
    return completions[0].workflowStatus if completions else None


def test_paused_twice_then_resumed_the_instance_goes_on() -> None:
    old = [
        *_started(),
        helpers.new_suspend_event(),
        helpers.new_workflow_started_event(),
        helpers.new_suspend_event(),
    ]
    new = [
        helpers.new_workflow_started_event(),
        helpers.new_resume_event(),
        helpers.new_event_raised_event("go", '"done"'),
    ]
    results = _replay(old, new)
    assert _status(results) == pb.ORCHESTRATION_STATUS_COMPLETED


def test_paused_twice_it_can_be_terminated() -> None:
    old = [*_started(), helpers.new_suspend_event(), helpers.new_suspend_event()]
    new = [
        helpers.new_workflow_started_event(),
        helpers.new_resume_event(),
        helpers.new_terminated_event(),
    ]
    assert _status(_replay(old, new)) == pb.ORCHESTRATION_STATUS_TERMINATED


@pytest.mark.parametrize("resumes", [1, 2])
def test_a_resume_of_a_running_instance_changes_nothing(resumes: int) -> None:
    new = [helpers.new_resume_event() for _ in range(resumes)]
    assert _status(_replay(_started(), new)) is None  # still waiting, not failed
    old = [*_started(), *new]
    done = _replay(old, [helpers.new_event_raised_event("go", '"done"')])
    assert _status(done) == pb.ORCHESTRATION_STATUS_COMPLETED


def test_a_pause_still_holds_events_until_the_resume() -> None:
    old = [*_started(), helpers.new_suspend_event()]
    held = _replay(old, [helpers.new_event_raised_event("go", '"done"')])
    assert _status(held) is None
    old.append(helpers.new_event_raised_event("go", '"done"'))
    assert _status(_replay(old, [helpers.new_resume_event()])) == pb.ORCHESTRATION_STATUS_COMPLETED


def _versioned_results(old: list[Any], new: list[Any]) -> tuple[str, str]:
    """The version an execution ran on, and what it returned, for a workflow `w` with the
    versions v1 and v2 (the latest)."""
    registry = sdk.worker._Registry()  # type: ignore[no-untyped-call]
    registry.add_named_orchestrator("w", lambda ctx, _: "one", version_name="v1")
    registry.add_named_orchestrator("w", lambda ctx, _: "two", version_name="v2", is_latest=True)
    results = LifecycleSafeExecutor(registry, logging.getLogger("test")).execute("i", old, new)
    [done] = [a.completeWorkflow for a in results.actions if a.HasField("completeWorkflow")]
    return results.version_name, done.result.value


def test_an_instance_from_before_its_workflow_had_versions_runs_on_the_first() -> None:
    """As shipped, the SDK runs a history that names no version on the latest: the rewrite
    registered as v2 would fail every instance that started on the unversioned code."""
    started = [helpers.new_workflow_started_event(), helpers.new_execution_started_event("w", "i")]
    assert _versioned_results([], started) == ("v2", '"two"')  # a new instance: the latest
    turn = [helpers.new_workflow_started_event()]
    assert _versioned_results(started, turn) == ("v1", '"one"')  # one that has run before
    on_v2 = [helpers.new_workflow_started_event(), started[1]]
    on_v2[0].workflowStarted.version.name = "v2"
    assert _versioned_results(on_v2, turn) == ("v2", '"two"')  # the version it started on


def test_the_workers_executor_counts_each_end_by_workflow_and_status() -> None:
    """workflow_ends_total: an execution that ends a top-level instance counts once, even when
    executed again; one that leaves it waiting counts nothing; make replay's executor nothing."""

    def ends(status: str) -> float:
        labels = {"workflow": "waiter", "status": status}
        return REGISTRY.get_sample_value("workflow_ends_total", labels) or 0.0

    registry = sdk.worker._Registry()  # type: ignore[no-untyped-call]
    registry.add_named_orchestrator("waiter", _waiter)
    executor = sdk.CountingExecutor(registry, logging.getLogger("test"))
    completed, terminated = ends("COMPLETED"), ends("TERMINATED")
    executor.execute("i", [], _started())
    assert ends("COMPLETED") == completed
    executor.execute("i", _started(), [helpers.new_event_raised_event("go", '"done"')])
    assert ends("COMPLETED") == completed + 1
    # the sidecar did not take that completion: the work item comes again, counted once
    executor.execute("i", _started(), [helpers.new_event_raised_event("go", '"done"')])
    assert ends("COMPLETED") == completed + 1
    child = _started()
    child[1].executionStarted.parentInstance.workflowInstance.instanceId = "parent"
    executor.execute("i:part-0", child, [helpers.new_event_raised_event("go", '"done"')])
    assert ends("COMPLETED") == completed + 1  # a child's end is its parent's business
    executor.execute("j", _started(), [helpers.new_terminated_event()])
    assert ends("TERMINATED") == terminated + 1
    LifecycleSafeExecutor(registry, logging.getLogger("test")).execute(
        "k", _started(), [helpers.new_event_raised_event("go", '"done"')]
    )
    assert ends("COMPLETED") == completed + 1
    sdk.install()
    assert sdk.worker._OrchestrationExecutor is sdk.CountingExecutor
