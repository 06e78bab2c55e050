"""fan_out_fan_in's decision paths, driven without a sidecar (tests/unit/fakes.py)."""

import pytest

from app.config import Settings
from app.workflows import fan_out_fan_in
from tests.unit.fakes import FakeContext, run

pytestmark = pytest.mark.usefixtures("fake_composites")


def test_fan_out_reports_failures_without_failing_the_batch() -> None:
    batch = fan_out_fan_in.FanOutInput(task_ids=["a", "fail-b", "c"], max_parallel=2)
    result = run(fan_out_fan_in.fan_out_fan_in, FakeContext(), batch)
    assert (result.processed_count, result.succeeded, result.failed) == (3, 2, 1)
    assert result.failure_ids == ["fail-b"]
    assert [r.task_id for r in result.individual_results] == ["a", "fail-b", "c"]
    assert result.total_score == fan_out_fan_in.item_score("a") + fan_out_fan_in.item_score("c")
    assert result.average_score == round(result.total_score / 2, 2)


def test_large_fan_out_is_split_into_child_instances_in_order() -> None:
    ids = [f"id-{i}" for i in range(250)] + ["fail-last"]
    ctx = FakeContext(instance_id="big")
    result = run(
        fan_out_fan_in.fan_out_fan_in,
        ctx,
        fan_out_fan_in.FanOutInput(task_ids=ids, max_parallel=100),
    )
    children = [call for name, call in ctx.calls if name.startswith("child:")]
    assert children == ["big:part-0", "big:part-1", "big:part-2"]
    assert [r.task_id for r in result.individual_results] == ids
    assert (result.processed_count, result.failed, result.failure_ids) == (251, 1, ["fail-last"])


def test_item_scores_are_deterministic_and_bounded() -> None:
    assert fan_out_fan_in.item_score("task-1") == fan_out_fan_in.item_score("task-1")
    scores = {fan_out_fan_in.item_score(f"id-{i}") for i in range(500)}
    assert min(scores) == 60 and max(scores) == 100  # the whole range, and only it


def test_default_max_parallel_setting_is_bounded_like_the_input() -> None:
    bound = next(
        m.le for m in Settings.model_fields["default_max_parallel"].metadata if hasattr(m, "le")
    )
    assert bound == fan_out_fan_in.MAX_PARALLEL


def test_fan_out_reports_items_done_of_total_as_they_settle() -> None:
    ctx = FakeContext()
    batch = fan_out_fan_in.FanOutInput(task_ids=["a", "b", "fail-c"], max_parallel=2)
    run(fan_out_fan_in.fan_out_fan_in, ctx, batch)
    assert [s["done"] for s in ctx.statuses] == [0, 1, 2, 3]
    assert {s["total"] for s in ctx.statuses} == {3}


def test_large_fan_out_counts_the_items_of_each_finished_child() -> None:
    ctx = FakeContext(instance_id="big")
    ids = [f"t-{i}" for i in range(250)]
    run(
        fan_out_fan_in.fan_out_fan_in,
        ctx,
        fan_out_fan_in.FanOutInput(task_ids=ids, max_parallel=100),
    )
    assert [s["done"] for s in ctx.statuses] == [0, 100, 200, 250]
