"""The workflow SDK's private pieces this service relies on, in one place.

dapr-ext-workflow 1.18 bundles durabletask under ``_durabletask``. The service uses three of its
parts that the public API does not offer: the gRPC stub and protobuf messages of the sidecar's
workflow API (the public client has no listing, history, rerun or per-call deadline), and the
orchestration executor that replays a history into workflow code (the worker, `make replay`).
An SDK upgrade that moves one fails tests/unit/test_sdk.py, naming what moved.
"""

import logging
import threading
from collections import OrderedDict
from typing import Any, ClassVar

import dapr.ext.workflow as wf
from dapr.ext.workflow._durabletask import worker
from dapr.ext.workflow._durabletask.internal import helpers
from dapr.ext.workflow._durabletask.internal import orchestrator_service_pb2_grpc as stubs
from dapr.ext.workflow._durabletask.internal import protos as pb

from app import metrics

__all__ = [
    "CountingExecutor",
    "LifecycleSafeExecutor",
    "helpers",
    "install",
    "pb",
    "pending_work",
    "registers",
    "registry_of",
    "replay",
    "status_name",
    "stubs",
    "worker",
]

log = logging.getLogger(__name__)


class LifecycleSafeExecutor(worker._OrchestrationExecutor):
    """The SDK's executor, with a pause or resume that means nothing in the state ignored, and
    an instance that started before its workflow had versions run on the first version.

    As shipped (1.18.3), a resume of a running instance fails it ("Don't know how to handle
    event of type 'executionResumed'"), and a second pause is buffered like any event while
    suspended: the resume that follows replays it, suspends again and keeps appending to the
    list it is replaying, so the worker loops for ever on that instance and every later call to
    it (resume, terminate) times out. The API answers such calls itself, but two replicas, or
    another client of the sidecar, can still race one into a history: this executor lets that
    history replay as the runtime reads it (a second pause changes nothing, a resume of a running
    instance changes nothing), so a wedged instance goes on once a fixed worker replays it.

    As shipped, a history that names no version runs on the latest: registering a workflow's
    rewrite as its new version would fail every instance that started on the unversioned code.
    Here such a history, of an instance that has run before, runs on the first version (the
    code it started on); a new instance, or a continue-as-new generation, on the latest.
    """

    _has_run = False  # the history being executed started in an earlier execution

    def execute(
        self, instance_id: str, old_events: Any, new_events: Any, *args: Any, **kwargs: Any
    ) -> Any:
        self._has_run = any(e.HasField("executionStarted") for e in old_events)
        return super().execute(instance_id, old_events, new_events, *args, **kwargs)

    def process_event(self, ctx: Any, event: Any) -> None:
        kind = event.WhichOneof("eventType")
        if kind == "executionStarted" and self._has_run and not ctx._orchestrator_version_name:
            versions = self._registry.versioned_orchestrators.get(event.executionStarted.name)
            if versions:
                ctx._orchestrator_version_name = next(iter(versions))  # the first registered
        if kind == "executionSuspended" and self._is_suspended:
            return
        if kind == "executionResumed" and not self._is_suspended:
            if not ctx.is_replaying:
                log.info("%s: resume of an instance that is not suspended ignored", ctx.instance_id)
            return
        super().process_event(ctx, event)


def status_name(status: int) -> str:
    """A runtime status as the API names it: COMPLETED, not ORCHESTRATION_STATUS_COMPLETED."""
    return str(pb.OrchestrationStatus.Name(status)).removeprefix("ORCHESTRATION_STATUS_")


class CountingExecutor(LifecycleSafeExecutor):
    """The worker's executor: each end of a top-level instance it executes is counted, by
    workflow and final status (workflow_ends_total). A continue-as-new starts the next
    generation (no end); a child workflow's end is its parent's business (a fan-out's parts).
    An end whose completion the sidecar did not take is executed again: the ends of the last
    COUNTED_KEPT executions are remembered, so it is counted once (at least once beyond that)."""

    COUNTED_KEPT = 4096
    # class-wide: the SDK makes an executor for each work item, on any of its threads
    _counted: ClassVar[OrderedDict[tuple[str, str], None]] = OrderedDict()
    _lock: ClassVar[threading.Lock] = threading.Lock()

    def execute(
        self, instance_id: str, old_events: Any, new_events: Any, *args: Any, **kwargs: Any
    ) -> Any:
        results = super().execute(instance_id, old_events, new_events, *args, **kwargs)
        ends = [
            a.completeWorkflow.workflowStatus
            for a in results.actions
            if a.WhichOneof("workflowActionType") == "completeWorkflow"
            and a.completeWorkflow.workflowStatus != pb.ORCHESTRATION_STATUS_CONTINUED_AS_NEW
        ]
        if not ends:  # most steps: the history is not read again
            return results
        events = (*old_events, *new_events)
        started = next((e.executionStarted for e in events if e.HasField("executionStarted")), None)
        if started is None or started.HasField("parentInstance"):
            return results
        execution = (instance_id, started.workflowInstance.executionId.value)
        with self._lock:
            if execution in self._counted:
                return results
            self._counted[execution] = None
            while len(self._counted) > self.COUNTED_KEPT:
                self._counted.popitem(last=False)
        name = started.name if registers(self._registry, started.name) else metrics.OTHER
        metrics.ended(name, status_name(ends[0]))
        return results


def install() -> None:
    """Make the SDK's worker run every orchestration with CountingExecutor."""
    worker._OrchestrationExecutor = CountingExecutor  # type: ignore[misc]


def registry_of(runtime: wf.WorkflowRuntime) -> Any:
    """The workflows a runtime has registered, as its worker looks them up by name."""
    return runtime._WorkflowRuntime__worker._registry  # type: ignore[attr-defined]


def registers(registry: Any, workflow: str) -> bool:
    """Whether the registry has a workflow of that name, versioned or not."""
    return workflow in registry.orchestrators or workflow in registry.versioned_orchestrators


def replay(registry: Any, instance_id: str, history: list[Any]) -> Any:
    """Run the workflow code over a whole history, offline, as the worker would at its next
    step: the SDK's executor, its results (a history mismatch shows as a FAILED completion)."""
    executor = LifecycleSafeExecutor(registry, log)
    turn = helpers.new_workflow_started_event(history[-1].timestamp.ToDatetime())
    return executor.execute(instance_id, history, [turn])


def pending_work(runtime: Any) -> int:
    """Work items the runtime's worker holds, running or waiting for a slot: workflow steps and
    activities together (0 for a worker that is not the SDK's, such as a test's stand-in)."""
    manager = getattr(
        getattr(runtime, "_WorkflowRuntime__worker", None), "_async_worker_manager", None
    )
    queues = (
        getattr(manager, "activity_queue", None),
        getattr(manager, "orchestration_queue", None),
    )
    return sum(getattr(q, "_unfinished_tasks", 0) for q in queues if q is not None)
