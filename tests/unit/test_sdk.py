"""The SDK's private pieces the service uses (app/sidecar/sdk.py): still where they were, and the
executor's pause and resume that mean nothing in the state ignored instead of fatal."""

import logging
import threading
from typing import Any

import dapr.ext.workflow as wf
import pytest
from dapr.ext.workflow._durabletask.internal import helpers

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
