"""fan_out_fan_in through the HTTP API on the real sidecar: failures, parallelism, children."""

import time

import httpx
import pytest

from tests.integration.polling import start, wait_for
from tests.integration.stacks import EVERY_STORE

pytestmark = pytest.mark.stores(*EVERY_STORE)


def test_fan_out_reports_a_failing_item_without_failing_the_batch(api: httpx.Client) -> None:
    ids = ["a-1", "fail-2", "a-3", "a-4"]
    out = wait_for(api, start(api, "fan_out_fan_in", {"task_ids": ids, "max_parallel": 2}))[
        "output"
    ]
    assert (out["processed_count"], out["succeeded"], out["failed"]) == (4, 3, 1)
    assert out["failure_ids"] == ["fail-2"]
    assert [r["task_id"] for r in out["individual_results"]] == ids


def test_fifty_items_of_two_seconds_finish_in_a_few_seconds(api: httpx.Client) -> None:
    ids = [f"item-{i}" for i in range(50)]
    started = time.monotonic()
    iid = start(api, "fan_out_fan_in", {"task_ids": ids, "work_seconds": 2})
    status = wait_for(api, iid, timeout=60)
    elapsed = time.monotonic() - started
    assert status["output"]["succeeded"] == 50
    assert elapsed < 15, f"50 x 2 s took {elapsed:.1f}s: not parallel"


def test_fan_out_respects_max_parallel(api: httpx.Client) -> None:
    started = time.monotonic()
    iid = start(
        api,
        "fan_out_fan_in",
        {"task_ids": [f"w-{i}" for i in range(6)], "work_seconds": 1, "max_parallel": 2},
    )
    wait_for(api, iid)
    assert time.monotonic() - started >= 3.0  # three waves of two


def test_large_fan_out_runs_in_child_instances(api: httpx.Client) -> None:
    ids = [f"big-{i}" for i in range(250)] + ["fail-big"]
    iid = start(api, "fan_out_fan_in", {"task_ids": ids, "max_parallel": 200})
    out = wait_for(api, iid, timeout=120)["output"]
    assert (out["processed_count"], out["succeeded"], out["failure_ids"]) == (
        251,
        250,
        ["fail-big"],
    )
    assert [r["task_id"] for r in out["individual_results"]] == ids
    assert api.get(f"/status/{iid}:part-2").json()["runtime_status"] == "COMPLETED"
