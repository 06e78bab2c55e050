"""hybrid's decision paths, driven without a sidecar (tests/unit/fakes.py)."""

import pytest

from app.workflows import hybrid
from app.workflows.rules import TaskItem
from tests.unit.fakes import FakeContext, activity_names, run

pytestmark = pytest.mark.usefixtures("fake_composites")


def test_hybrid_processes_only_valid_tasks() -> None:
    batch = hybrid.HybridInput(
        tasks=[
            TaskItem(task_id="ok", title="URGENT: outage", description="Payments API is down"),
            TaskItem(task_id="bad", title="x", description="y"),
        ]
    )
    result = run(hybrid.hybrid, FakeContext(), batch)
    assert (result.status, result.validated, result.processed) == ("completed", 2, 1)
    assert result.rejected_ids == ["bad"]
    assert result.results[0].score == 85


def test_hybrid_with_no_valid_items_processes_nothing() -> None:
    ctx = FakeContext()
    result = run(
        hybrid.hybrid,
        ctx,
        hybrid.HybridInput(tasks=[TaskItem(task_id="b", title="x", description="y")]),
    )
    assert (result.status, result.processed, result.rejected_ids) == ("no_valid_items", 0, ["b"])
    assert "process_item" not in activity_names(ctx)
