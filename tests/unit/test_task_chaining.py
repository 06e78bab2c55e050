"""task_chaining's decision paths, driven without a sidecar (tests/unit/fakes.py)."""

import pytest

from app.workflows import task_chaining
from app.workflows.rules import TaskItem
from tests.unit.fakes import FakeContext, activity_names, run

pytestmark = pytest.mark.usefixtures("fake_composites")


def test_chain_completes_with_tags_score_and_workflow_time() -> None:
    ctx = FakeContext()
    task = TaskItem(task_id="t1", title="URGENT: fix", description="The API is down")
    result = run(task_chaining.task_chaining, ctx, task)
    assert (result.status, result.score, result.tags) == (
        "completed",
        85,
        ["high-priority", "backend"],
    )
    assert result.processed_at == "2026-01-01T12:00:00+00:00"
    assert activity_names(ctx) == ["validate_task", "enrich_task", "score_task"]


def test_chain_rejects_invalid_task_without_enriching() -> None:
    ctx = FakeContext()
    result = run(
        task_chaining.task_chaining, ctx, TaskItem(task_id="t", title="x", description="y")
    )
    assert (result.status, result.score, len(result.issues)) == ("rejected", 0, 2)
    assert activity_names(ctx) == ["validate_task"]


def test_chain_step_failure_runs_error_handler_and_fails() -> None:
    ctx = FakeContext()
    task = TaskItem(task_id="fail-1", title="Valid title", description="Valid description")
    with pytest.raises(task_chaining.ChainStepFailed, match="enrich failed for task fail-1"):
        run(task_chaining.task_chaining, ctx, task)
    assert activity_names(ctx) == ["validate_task", "enrich_task", "handle_chain_error"]
