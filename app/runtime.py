"""The workflow worker: every workflow and activity, registered in one place under stable names.

Each workflow module declares what it registers (`DECLARED`, app/workflows/declared.py); a new
workflow is its module and its name in MODULES. Tests import the workflow modules without side
effects; only build_runtime registers anything.
"""

from collections.abc import Callable
from importlib import import_module
from typing import Any

import dapr.ext.workflow as wf

from app.config import Settings
from app.sidecar import sdk
from app.workflows import benchmark
from app.workflows.declared import Declared

Workflow = Callable[..., Any]
Activity = Callable[..., Any]

# Every workflow the service runs and offers, by its module in app/workflows/: a new workflow is
# its module and its name here (docs/adding-a-workflow.md). Their names, their activities' names
# and the order of what each yields are a contract with running instances' histories.
MODULES = ("task_chaining", "fan_out_fan_in", "hybrid", "monitor", "purchase_approval")
WORKFLOWS: tuple[Declared, ...] = tuple(
    import_module(f"app.workflows.{module}").DECLARED for module in MODULES
)


def workflows(settings: Settings) -> dict[str, Workflow]:
    """Every workflow the worker runs, by its registered name."""
    registered = {declared.name: declared.workflow for declared in WORKFLOWS}
    if settings.benchmark_workflows:
        registered[benchmark.NAME] = benchmark.bench_chain
    return registered


def activities(settings: Settings) -> dict[str, Activity]:
    """Every activity the worker runs, by its registered name, bound to the settings it needs."""
    registered: dict[str, Activity] = {}
    for declared in WORKFLOWS:
        for name, activity in declared.activities(settings).items():
            if name in registered:
                raise ValueError(f"activity {name!r} is declared twice")
            registered[name] = activity
    return registered


def build_runtime(settings: Settings) -> wf.WorkflowRuntime:
    """A WorkflowRuntime with every workflow and activity of the service registered."""
    sdk.install()  # pause and resume that mean nothing in the state are ignored, not fatal
    runtime = wf.WorkflowRuntime(
        maximum_concurrent_activity_work_items=settings.max_concurrent_activities,
        maximum_concurrent_orchestration_work_items=settings.max_concurrent_workflows,
        maximum_thread_pool_workers=settings.worker_threads,
        worker_ready_timeout=settings.worker_ready_timeout_seconds,
    )
    versions = {declared.name: declared.versions for declared in WORKFLOWS}
    for name, workflow in workflows(settings).items():
        for version, code in versions.get(name, ()):
            latest = code is workflow
            runtime.register_versioned_workflow(
                code, name=name, version_name=version, is_latest=latest
            )
        if not versions.get(name):
            runtime.register_workflow(workflow, name=name)
    for name, activity in activities(settings).items():
        runtime.register_activity(activity, name=name)
    return runtime
