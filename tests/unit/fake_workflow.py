"""Drive a workflow generator without a sidecar: activities run in-process at once.

Good for the decision paths; replay, durability and timing are the integration tests' job.
"""

import asyncio
import inspect
import typing
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import dapr.ext.workflow as wf
import pytest
from dapr.ext.workflow._durabletask.internal import protos as pb

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


@dataclass
class FakeContext:
    """Events are delivered in order, one per wait; with none left, the timer wins."""

    events: list[Any] = field(default_factory=list)
    instance_id: str = "wf-1"
    is_replaying: bool = False
    current_utc_datetime: datetime = NOW
    calls: list[tuple[str, Any]] = field(default_factory=list)
    custom_status: str | None = None
    continued_with: Any = None
    timers: list[Any] = field(default_factory=list)

    def call_activity(
        self, activity: Callable[..., Any], *, input: Any = None, retry_policy: Any = None
    ) -> FakeTask:
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
        from app.runtime import CATALOG

        self.calls.append((f"child:{workflow}", instance_id))
        spec = CATALOG[workflow]
        child = FakeContext(instance_id=instance_id or "child")
        try:
            result = run(spec.function, child, spec.input_model.model_validate(_json(input)))
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

    def set_custom_status(self, status: str) -> None:
        self.custom_status = status

    def continue_as_new(self, new_input: Any, *, save_events: bool = False) -> None:
        self.continued_with = new_input


def _coerced(activity: Callable[..., Any], value: Any) -> Any:
    """As the SDK does: JSON input becomes the model the activity's annotation names."""
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
