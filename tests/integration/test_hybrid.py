"""hybrid through the HTTP API on the real sidecar: valid tasks processed, none valid."""

import httpx
import pytest

from tests.integration.polling import start, wait_for
from tests.integration.stacks import EVERY_STORE

pytestmark = pytest.mark.stores(*EVERY_STORE)

TASK = {"task_id": "t-1", "title": "URGENT: login down", "description": "The auth API returns 500"}


def test_hybrid_processes_the_valid_tasks(api: httpx.Client) -> None:
    tasks = [TASK, {"task_id": "bad", "title": "x", "description": "y"}]
    out = wait_for(api, start(api, "hybrid", {"tasks": tasks}))["output"]
    assert (out["status"], out["validated"], out["processed"]) == ("completed", 2, 1)
    assert out["rejected_ids"] == ["bad"] and out["results"][0]["score"] == 85


def test_hybrid_with_no_valid_items_processes_nothing(api: httpx.Client) -> None:
    tasks = [{"task_id": "b1", "title": "x", "description": "y"}]
    out = wait_for(api, start(api, "hybrid", {"tasks": tasks}))["output"]
    assert (out["status"], out["processed"], out["rejected_ids"]) == ("no_valid_items", 0, ["b1"])
