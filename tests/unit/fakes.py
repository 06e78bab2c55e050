"""Every stand-in the unit tests use, in one place.

- FakeContext and run(): drive a workflow generator without a sidecar; activities run in-process
  at once, looked up by the names app/runtime.py registers. Good for the decision paths; replay,
  durability and timing are the integration tests' job.
- FakeClient and FakeRuntime: the sidecar client and the workflow worker behind the API, checked
  by mypy against the Protocols the app declares (app.sidecar.Sidecar, app.main.Worker).
- PagesFake: FakeClient with paged listing, histories and creation times, for the pages and the
  listing and rerun API; APPROVAL_HISTORY is a purchase's history as the sidecar returns it.
"""

import asyncio
import inspect
import json
import typing
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import dapr.ext.workflow as wf
import pytest
from fastapi.testclient import TestClient

from app import runtime
from app.config import Settings
from app.main import Worker, create_app
from app.sidecar import (
    InstanceState,
    InvalidToken,
    OutcomeUnknown,
    Sidecar,
    SidecarUnavailable,
)
from app.sidecar.sdk import pb

NOW = datetime(2026, 1, 1, 12, 0, 0)


@dataclass(eq=False)
class FakeTask:
    kind: str
    name: str
    result: Any = None
    error: Exception | None = None

    @property
    def is_failed(self) -> bool:
        return self.error is not None

    def get_result(self) -> Any:
        return self.result

    def get_exception(self) -> Exception:
        assert self.error is not None
        return self.error


@dataclass(eq=False)
class Composite:
    kind: str
    tasks: list[FakeTask]


class FakeActivityContext:
    workflow_id = "wf-1"
    task_id = 7
    task_execution_id = "00000000-0000-5000-8000-000000000007"

    def get_inner_context(self) -> "FakeActivityContext":
        return self


def task_failed(message: str) -> wf.TaskFailedError:
    return wf.TaskFailedError(message, pb.TaskFailureDetails(errorMessage=message, errorType="X"))


def registered_activities() -> dict[str, Callable[..., Any]]:
    """The activities by the names the worker registers them under, with default settings."""
    return runtime.activities(Settings())


@dataclass
class FakeContext:
    """Events are delivered in order, one per wait; with none left, the timer wins."""

    events: list[Any] = field(default_factory=list)
    activities: dict[str, Callable[..., Any]] = field(default_factory=registered_activities)
    instance_id: str = "wf-1"
    is_replaying: bool = False
    current_utc_datetime: datetime = NOW
    calls: list[tuple[str, Any]] = field(default_factory=list)
    custom_status: str | None = None
    statuses: list[Any] = field(default_factory=list)  # every custom status set, decoded
    continued_with: Any = None
    timers: list[Any] = field(default_factory=list)
    started_before_patches: bool = False  # an old instance: every is_patched() says False

    def call_activity(
        self, activity: Callable[..., Any] | str, *, input: Any = None, retry_policy: Any = None
    ) -> FakeTask:
        if isinstance(activity, str):  # called by its registered name
            name, activity = activity, self.activities[activity]
        else:
            name = activity.__name__
        self.calls.append((name, input))
        try:
            result = activity(FakeActivityContext(), _coerced(activity, input))
            if inspect.iscoroutine(result):
                result = asyncio.run(result)
        except Exception as error:
            return FakeTask("activity", name, error=task_failed(str(error)))
        return FakeTask("activity", name, result=_json(result))

    def call_child_workflow(
        self, workflow: str, *, input: Any = None, instance_id: str | None = None
    ) -> FakeTask:
        """Run the child to its end at once, as the registered workflow of that name."""
        self.calls.append((f"child:{workflow}", instance_id))
        function = runtime.workflows(Settings())[workflow]
        child = FakeContext(instance_id=instance_id or "child", activities=self.activities)
        try:
            result = run(function, child, _coerced(function, _json(input)))
        except Exception as error:
            return FakeTask("activity", workflow, error=task_failed(str(error)))
        self.calls.extend(child.calls)
        return FakeTask("activity", workflow, result=_json(result))

    def create_timer(self, fire_at: Any) -> FakeTask:
        self.timers.append(fire_at)
        return FakeTask("timer", "timer")

    def wait_for_external_event(self, name: str) -> FakeTask:
        if self.events:
            return FakeTask("event", name, result=self.events.pop(0))
        return FakeTask("pending-event", name)

    def is_patched(self, name: str) -> bool:
        return not self.started_before_patches

    def set_custom_status(self, status: str) -> None:
        self.custom_status = status
        self.statuses.append(json.loads(status))

    def continue_as_new(self, new_input: Any, *, save_events: bool = False) -> None:
        self.continued_with = new_input


def activity_names(ctx: FakeContext) -> list[str]:
    """The names of the activities the workflow called, in order."""
    return [name for name, _ in ctx.calls]


def _coerced(activity: Callable[..., Any], value: Any) -> Any:
    """As the SDK does: JSON input becomes the model the function's annotation names."""
    hints = list(typing.get_type_hints(activity).values())
    model = hints[1] if len(hints) > 1 else None
    if isinstance(value, dict) and hasattr(model, "model_validate"):
        return model.model_validate(value)  # type: ignore[union-attr]
    return value


def _json(value: Any) -> Any:
    """What the workflow gets back: activity results travel as JSON."""
    return value.model_dump(mode="json") if hasattr(value, "model_dump") else value


@pytest.fixture
def fake_composites(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(wf, "when_all", lambda tasks: Composite("all", list(tasks)))
    monkeypatch.setattr(wf, "when_any", lambda tasks: Composite("any", list(tasks)))
    yield


def run(workflow: Callable[..., Any], ctx: FakeContext, payload: Any) -> Any:
    """Run the generator to its end; returns the workflow's return value."""
    gen = workflow(ctx, payload)
    send: Any = None
    throw: Exception | None = None
    while True:
        try:
            step = gen.throw(throw) if throw else gen.send(send)
        except StopIteration as stop:
            return stop.value
        send, throw = None, None
        if isinstance(step, FakeTask):
            send, throw = step.result, step.error
        elif step.kind == "all":
            failed = [t for t in step.tasks if t.is_failed]
            send, throw = ([t.result for t in step.tasks], failed[0].error if failed else None)
        else:
            ready = [t for t in step.tasks if t.kind in ("activity", "event")]
            send = ready[0] if ready else next(t for t in step.tasks if t.kind == "timer")


class FakeRuntime:
    def start(self) -> None: ...
    def shutdown(self) -> None: ...
    def wait_for_worker_ready(self, timeout: float) -> bool:
        return True


class FakeClient:
    """The sidecar in memory: instances by id, what was started, the events raised."""

    def __init__(self) -> None:
        self.states: dict[str, InstanceState] = {}
        self.started: list[tuple[str, Any, str]] = []
        self.events: list[tuple[str, str, Any]] = []
        self.down = False
        self.scheduler_down = False
        self.answer_lost = False
        self.refuse_start: Exception | None = None  # what start raises, as the client would
        self.reruns: list[tuple[str, int, str, Any, bool]] = []

    def _check(self) -> None:
        if self.down:
            raise SidecarUnavailable("connection refused")

    def put(self, instance_id: str, workflow: str, status: str) -> None:
        self.states[instance_id] = InstanceState(
            instance_id, workflow, status, None, None, None, None, None, None
        )

    async def close(self) -> None: ...

    async def start(self, workflow: str, payload: Any, instance_id: str) -> str:
        self._check()
        if self.refuse_start:
            raise self.refuse_start
        self.started.append((workflow, payload, instance_id))
        self.put(instance_id, workflow, "RUNNING")
        return instance_id

    async def get(self, instance_id: str, *, payloads: bool = True) -> InstanceState | None:
        self._check()
        state = self.states.get(instance_id)
        if state is None or payloads:
            return state
        # As daprd answers getInputsAndOutputs=false: no input, output, custom status, failure.
        return replace(state, input=None, output=None, custom_status=None, failure=None)

    async def wait(
        self, instance_id: str, timeout: float, *, payloads: bool = True
    ) -> InstanceState | None:
        state = await self.get(instance_id)
        return state if state is not None and state.finished else None

    async def raise_event(self, instance_id: str, name: str, payload: Any) -> None:
        self.events.append((instance_id, name, payload))
        if self.answer_lost:
            raise OutcomeUnknown(instance_id, "deadline exceeded")

    async def probe_state(self, probe_id: str) -> bool:
        return not self.down

    async def probe_actors(self, probe_id: str) -> bool:
        return not self.down

    async def probe_scheduler(self, name: str) -> bool:
        return not (self.down or self.scheduler_down)

    async def terminate(self, instance_id: str, reason: str | None) -> None:
        self.events.append((instance_id, "terminate", reason))

    async def pause(self, instance_id: str, reason: str | None) -> None:
        await self._lifecycle(instance_id, "pause", reason, "SUSPENDED")

    async def resume(self, instance_id: str, reason: str | None) -> None:
        await self._lifecycle(instance_id, "resume", reason, "RUNNING")

    async def _lifecycle(self, instance_id: str, call: str, reason: str | None, then: str) -> None:
        """As daprd does: the call answers once the instance shows the new status."""
        self.events.append((instance_id, call, reason))
        await asyncio.sleep(0.01)
        self.states[instance_id] = replace(self.states[instance_id], runtime_status=then)

    async def purge(self, instance_id: str) -> int:
        return 1 if self.states.pop(instance_id, None) else 0

    async def rerun(
        self, instance_id: str, event_id: int, new_instance_id: str, input: Any, new_input: bool
    ) -> str:
        self.reruns.append((instance_id, event_id, new_instance_id, input, new_input))
        return new_instance_id

    async def list_ids(self, page_size: int, token: str | None) -> tuple[list[str], str | None]:
        return list(self.states)[:page_size], None

    async def history(self, instance_id: str) -> list[dict[str, Any]]:
        return []


# The sidecar with listing, history and rerun: for the pages and their API.
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def nested(depth: int) -> Any:
    """A JSON value `depth` lists deep."""
    value: Any = 0
    for _ in range(depth):
        value = [value]
    return value


def event(event_id: int, kind: str, at: float, name: str | None = None, **details: Any) -> Any:
    return {
        "event_id": event_id,
        "kind": kind,
        "timestamp": T0 + timedelta(seconds=at),
        "name": name,
        "details": details,
    }


APPROVAL_HISTORY = [
    event(-1, "orchestratorStarted", 0),
    event(0, "executionStarted", 0, "purchase_approval"),
    event(1, "taskScheduled", 0.1, "request_approval"),
    event(-1, "taskCompleted", 0.4, taskScheduledId=1),
    event(2, "timerCreated", 0.5, fireAt="2026-01-01T00:10:00Z", createTimer={}),
    event(3, "timerCreated", 0.5, fireAt="9999-12-31T23:59:59Z", externalEvent={"name": "ok"}),
    event(-1, "eventRaised", 3.0, "ok"),
    event(4, "taskScheduled", 3.1, "place_order"),
    event(-1, "taskCompleted", 3.3, taskScheduledId=4),
    event(5, "executionCompleted", 3.4, workflowStatus="ORCHESTRATION_STATUS_COMPLETED"),
]


class PagesFake(FakeClient):
    def __init__(self) -> None:
        super().__init__()
        self.histories: dict[str, list[dict[str, Any]]] = {}

    def add(self, instance_id: str, workflow: str, status: str, **fields: Any) -> None:
        values = {
            "created_at": T0,
            "last_updated_at": T0,
            "input": None,
            "output": None,
            "custom_status": None,
            "failure": None,
            **fields,
        }
        self.states[instance_id] = InstanceState(instance_id, workflow, status, **values)

    async def list_ids(self, page_size: int, token: str | None) -> tuple[list[str], str | None]:
        """Pages as the stores page: the token is an offset, and a store refuses another."""
        ids = sorted(self.states)
        if token is not None and not token.isdigit():
            raise InvalidToken(f"invalid continue token: {token!r}")
        start = int(token or 0)
        end = start + page_size
        return ids[start:end], (str(end) if end < len(ids) else None)

    async def history(self, instance_id: str) -> list[dict[str, Any]]:
        return self.histories.get(instance_id, [])


# mypy holds the stand-ins to the app's Protocols here.
_sidecar: type[Sidecar] = FakeClient
_pages_sidecar: type[Sidecar] = PagesFake
_worker: type[Worker] = FakeRuntime


DECISION = {"approved": True, "approver": "A"}
CHAIN = {
    "workflow": "task_chaining",
    "input": {"task_id": "t", "title": "Hello there", "description": "Long enough text"},
}


def client_for(fake: FakeClient, **settings: Any) -> TestClient:
    """The app on the stand-ins, with these settings."""
    app = create_app(
        Settings(**settings), runtime_factory=lambda _: FakeRuntime(), client_factory=lambda _: fake
    )
    return TestClient(app)
