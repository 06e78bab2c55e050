"""The workflow worker: every workflow and activity, registered in one place under stable names.

Tests import the workflow modules without side effects; only build_runtime registers anything.
"""

from collections.abc import Callable
from functools import partial
from typing import Any

import dapr.ext.workflow as wf

from app.config import Settings
from app.security.egress import checked_client
from app.sidecar import sdk
from app.workflows import (
    benchmark,
    fan_out_fan_in,
    hybrid,
    monitor,
    purchase_approval,
    task_chaining,
)

Workflow = Callable[..., Any]
Activity = Callable[..., Any]

# Registered under these names: a contract with running instances' histories. Renaming one, or
# changing the order of what a workflow yields, breaks the instances that are running it.


def workflows(settings: Settings) -> dict[str, Workflow]:
    """Every workflow the worker runs, by its registered name."""
    registered: dict[str, Workflow] = {
        task_chaining.NAME: task_chaining.task_chaining,
        fan_out_fan_in.NAME: fan_out_fan_in.fan_out_fan_in,
        hybrid.NAME: hybrid.hybrid,
        monitor.NAME: monitor.monitor,
        purchase_approval.NAME: purchase_approval.purchase_approval,
    }
    if settings.benchmark_workflows:
        registered[benchmark.NAME] = benchmark.bench_chain
    return registered


def activities(settings: Settings) -> dict[str, Activity]:
    """Every activity the worker runs, by its registered name, bound to the settings it needs."""
    return {
        "validate_task": task_chaining.validate_task,
        "enrich_task": task_chaining.enrich_task,
        "score_task": task_chaining.score_task,
        "handle_chain_error": task_chaining.handle_chain_error,
        "analyze_item": fan_out_fan_in.analyze_item,  # bench_chain calls it too
        "validate_item": hybrid.validate_item,
        "process_item": hybrid.process_item,
        monitor.CHECK_ENDPOINT: monitor.check_endpoint_activity(
            partial(checked_client, settings), settings.monitor_check_timeout_seconds
        ),
        "send_alert": monitor.send_alert,
        "request_approval": purchase_approval.request_approval,
        "place_order": purchase_approval.place_order,
        "release_reservation": purchase_approval.release_reservation,
    }


def build_runtime(settings: Settings) -> wf.WorkflowRuntime:
    """A WorkflowRuntime with every workflow and activity of the service registered."""
    sdk.install()  # pause and resume that mean nothing in the state are ignored, not fatal
    runtime = wf.WorkflowRuntime(
        maximum_concurrent_activity_work_items=settings.max_concurrent_activities,
        maximum_concurrent_orchestration_work_items=settings.max_concurrent_workflows,
        maximum_thread_pool_workers=settings.worker_threads,
        worker_ready_timeout=settings.worker_ready_timeout_seconds,
    )
    for name, workflow in workflows(settings).items():
        runtime.register_workflow(workflow, name=name)
    for name, activity in activities(settings).items():
        runtime.register_activity(activity, name=name)
    return runtime
