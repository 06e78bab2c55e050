"""Every workflow and activity, registered in one place under explicit, stable names.

Names are a wire contract with the durable history: renaming one breaks running instances.
"""

from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import dapr.ext.workflow as wf
from pydantic import BaseModel

from app.config import Settings
from app.workflows import (
    benchmark,
    fan_out_fan_in,
    hybrid,
    monitor,
    purchase_approval,
    task_chaining,
)
from app.workflows.tasks import TaskItem

Prepare = Callable[[Any, Settings], Any]


@dataclass(frozen=True)
class WorkflowSpec:
    name: str
    function: Callable[..., Any]
    input_model: type[BaseModel]
    summary: str
    example: dict[str, Any]
    # Fixes settings-dependent values into the input at start, so that replays see the same ones.
    prepare: Prepare

    def build_input(self, raw: dict[str, Any], settings: Settings) -> BaseModel:
        """Validate raw input against the workflow's model (raises ValidationError)."""
        return self.prepare(self.input_model.model_validate(raw), settings)  # type: ignore[no-any-return]


def _unchanged(value: Any, _: Settings) -> Any:
    return value


def _fan_out_defaults(batch: fan_out_fan_in.FanOutInput, settings: Settings) -> Any:
    if batch.max_parallel is None:
        batch.max_parallel = settings.default_max_parallel
    return batch


def _approval_threshold(order: purchase_approval.PurchaseOrder, settings: Settings) -> Any:
    # The threshold is the service's policy, never the caller's.
    order.approval_threshold = settings.approval_threshold
    return order


def _monitor_target(job: monitor.MonitorInput, settings: Settings) -> Any:
    if not monitor.host_allowed(str(job.url), settings.monitor_hosts()):
        raise ValueError(f"{job.url.host!r} is not in APP_MONITOR_ALLOWED_HOSTS")
    return job


def _spec(
    module: ModuleType,
    input_model: type[BaseModel],
    example: dict[str, Any],
    prepare: Prepare = _unchanged,
) -> WorkflowSpec:
    function = getattr(module, module.NAME)
    summary = (function.__doc__ or "").strip()
    return WorkflowSpec(module.NAME, function, input_model, summary, example, prepare)


CATALOG: dict[str, WorkflowSpec] = {
    spec.name: spec
    for spec in (
        _spec(
            task_chaining,
            TaskItem,
            {
                "task_id": "task-001",
                "title": "URGENT: fix login",
                "description": "The login API returns 500 for SSO users",
            },
        ),
        _spec(
            fan_out_fan_in,
            fan_out_fan_in.FanOutInput,
            {
                "task_ids": ["task-001", "task-002", "fail-003"],
                "work_seconds": 0.5,
            },
            _fan_out_defaults,
        ),
        _spec(
            hybrid,
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
        _spec(
            monitor,
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
        _spec(
            purchase_approval,
            purchase_approval.PurchaseOrder,
            {
                "order_id": "order-1001",
                "product": "Laptop",
                "quantity": 2,
                "cost": 5000,
                "approval_timeout_seconds": 600,
            },
            _approval_threshold,
        ),
    )
}
WORKFLOW_NAMES = tuple(CATALOG)
MODULES: tuple[ModuleType, ...] = (
    task_chaining,
    fan_out_fan_in,
    hybrid,
    monitor,
    purchase_approval,
)


def build_runtime(settings: Settings) -> wf.WorkflowRuntime:
    """A WorkflowRuntime with every workflow and activity of the service registered."""
    runtime = wf.WorkflowRuntime(
        maximum_concurrent_activity_work_items=settings.max_concurrent_activities,
        maximum_concurrent_orchestration_work_items=settings.max_concurrent_workflows,
        maximum_thread_pool_workers=settings.worker_threads,
        worker_ready_timeout=settings.worker_ready_timeout_seconds,
    )
    modules = MODULES + ((benchmark,) if settings.benchmark_workflows else ())
    for module in modules:
        for name, workflow in module.WORKFLOWS.items():
            runtime.register_workflow(workflow, name=name)
        for name, activity in module.ACTIVITIES.items():
            runtime.register_activity(activity, name=name)
    return runtime
