"""The worker's registration (app/runtime.py) against what the API offers (app/api/catalogue.py)."""

import ast
import inspect

from app import runtime
from app.api.catalogue import CATALOG
from app.config import Settings
from app.runtime import WORKFLOWS
from app.workflows import monitor


def test_every_workflow_the_api_offers_is_registered_under_its_name() -> None:
    registered = runtime.workflows(Settings())
    assert set(CATALOG) == set(registered)
    assert all(registered[name] is spec.workflow for name, spec in CATALOG.items())


def test_benchmark_workflow_is_registered_only_when_asked_for() -> None:
    assert "bench_chain" not in runtime.workflows(Settings())
    assert "bench_chain" in runtime.workflows(Settings(benchmark_workflows=True))


def test_activities_called_by_name_are_registered_under_that_name() -> None:
    assert monitor.CHECK_ENDPOINT in runtime.activities(Settings())


def test_each_workflow_declares_the_patches_its_code_checks() -> None:
    """/status reads a history only for workflows that declare versions or patches: one that
    checks a patch it does not declare would show no patch taken."""
    for declared in WORKFLOWS:
        module = inspect.getmodule(declared.workflow)
        assert module is not None
        checked = set()
        for node in ast.walk(ast.parse(inspect.getsource(module))):
            if isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "is_patched":
                [argument] = node.args
                checked.add(
                    argument.value
                    if isinstance(argument, ast.Constant)
                    else getattr(module, argument.id)  # type: ignore[attr-defined]
                )
        assert checked == set(declared.patches), declared.name
