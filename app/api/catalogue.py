"""What the API offers per workflow: its input model, an example, its events, and what the
service fixes into the input at start. The worker's registration is app/runtime.py's job.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from app.config import Settings
from app.security.addresses import TargetRefused
from app.security.egress import policy_for
from app.workflows import fan_out_fan_in, hybrid, monitor, purchase_approval, task_chaining
from app.workflows.rules import TaskItem

Prepare = Callable[[Any, Settings], Any]


def _unchanged(value: Any, _: Settings) -> Any:
    return value


@dataclass(frozen=True)
class WorkflowSpec:
    name: str
    workflow: Callable[..., Any]
    input_model: type[BaseModel]
    example: dict[str, Any]
    # Fixes settings-dependent values into the input at start, so that replays see the same ones.
    prepare: Prepare = _unchanged
    # The events the workflow waits for and the payload model each must validate against.
    events: dict[str, type[BaseModel]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for event_name in self.events:
            if event_name != event_name.casefold():
                raise ValueError(f"declare event {event_name!r} in lower case, as event() finds it")

    def event(self, event_name: str) -> type[BaseModel] | None:
        """The payload model of a declared event. The workflow SDK matches an event's name to
        what a workflow waits for regardless of case, so this does too."""
        return self.events.get(event_name.casefold())

    @property
    def summary(self) -> str:
        return (self.workflow.__doc__ or "").strip()

    def build_input(self, raw: dict[str, Any], settings: Settings) -> BaseModel:
        """Validate raw input against the workflow's model (raises ValidationError)."""
        return self.prepare(self.input_model.model_validate(raw), settings)  # type: ignore[no-any-return]


def _fan_out_defaults(batch: fan_out_fan_in.FanOutInput, settings: Settings) -> Any:
    if batch.max_parallel is None:
        batch.max_parallel = settings.default_max_parallel
    return batch


def _approval_threshold(order: purchase_approval.PurchaseOrder, settings: Settings) -> Any:
    # The threshold is the service's policy, never the caller's.
    order.approval_threshold = settings.approval_threshold
    return order


def _monitor_target(job: monitor.MonitorInput, settings: Settings) -> Any:
    # What the URL alone shows is refused here; what only resolution shows, at check time.
    try:
        policy_for(settings).check_host(job.url.host or "")
    except TargetRefused as refused:
        raise ValueError(f"Monitor target refused: {refused}") from None
    return job


_SPECS = (
    WorkflowSpec(
        task_chaining.NAME,
        task_chaining.task_chaining,
        TaskItem,
        {
            "task_id": "task-001",
            "title": "URGENT: fix login",
            "description": "The login API returns 500 for SSO users",
        },
    ),
    WorkflowSpec(
        fan_out_fan_in.NAME,
        fan_out_fan_in.fan_out_fan_in,
        fan_out_fan_in.FanOutInput,
        {"task_ids": ["task-001", "task-002", "fail-003"], "work_seconds": 0.5},
        _fan_out_defaults,
    ),
    WorkflowSpec(
        hybrid.NAME,
        hybrid.hybrid,
        hybrid.HybridInput,
        {
            "tasks": [
                {
                    "task_id": "t1",
                    "title": "URGENT: API outage",
                    "description": "Payments API times out",
                },
                {"task_id": "t2", "title": "Bug", "description": "short"},
            ]
        },
    ),
    WorkflowSpec(
        monitor.NAME,
        monitor.monitor,
        monitor.MonitorInput,
        {
            "job_id": "self-check",
            "url": "http://localhost:8000/healthz",
            "healthy_interval_seconds": 10,
            "unhealthy_interval_seconds": 2,
            "max_checks": 3,
        },
        _monitor_target,
    ),
    WorkflowSpec(
        purchase_approval.NAME,
        purchase_approval.purchase_approval,
        purchase_approval.PurchaseOrder,
        {
            "order_id": "order-1001",
            "product": "Laptop",
            "quantity": 2,
            "cost": 5000,
            "approval_timeout_seconds": 600,
        },
        _approval_threshold,
        purchase_approval.EVENTS,
    ),
)
CATALOG: dict[str, WorkflowSpec] = {spec.name: spec for spec in _SPECS}
# Swagger UI's examples for POST /workflows/{id}/events/{event_name}.
EVENT_EXAMPLES = {
    "approve": {
        "summary": f"{purchase_approval.APPROVAL_EVENT} for {purchase_approval.NAME}",
        "value": {"approved": True, "approver": "Jane Doe", "comment": "Within budget"},
    }
}
