"""task_chaining through the HTTP API on the real sidecar: every branch."""

import httpx
import pytest

from tests.integration.polling import start, wait_for
from tests.integration.stacks import EVERY_STORE

pytestmark = pytest.mark.stores(*EVERY_STORE)

TASK = {"task_id": "t-1", "title": "URGENT: login down", "description": "The auth API returns 500"}


def test_chain_completes_with_tags_and_score(api: httpx.Client) -> None:
    status = wait_for(api, start(api, "task_chaining", TASK))
    out = status["output"]
    assert (status["runtime_status"], out["status"], out["score"]) == ("COMPLETED", "completed", 85)
    assert out["tags"] == ["high-priority", "backend"] and out["issues"] == []
    assert out["processed_at"].endswith("+00:00")


def test_chain_rejects_invalid_task_with_every_issue(api: httpx.Client) -> None:
    iid = start(api, "task_chaining", {"task_id": "t-2", "title": "Bug", "description": "short"})
    out = wait_for(api, iid)["output"]
    assert (out["status"], out["score"], len(out["issues"])) == ("rejected", 0, 2)
    kinds = [
        e["name"]
        for e in api.get(f"/workflows/{iid}/history").json()["events"]
        if e["kind"] == "taskScheduled"
    ]
    assert kinds == ["validate_task"]


def test_chain_step_that_keeps_failing_fails_the_workflow_with_reason(api: httpx.Client) -> None:
    iid = start(api, "task_chaining", {**TASK, "task_id": "fail-42"})
    status = wait_for(api, iid)
    assert status["runtime_status"] == "FAILED"
    assert status["failure"]["type"] == "ChainStepFailed"
    assert "enrich failed for task fail-42" in status["failure"]["message"]
    scheduled = [
        e["name"]
        for e in api.get(f"/workflows/{iid}/history").json()["events"]
        if e["kind"] == "taskScheduled"
    ]
    assert scheduled.count("enrich_task") == 3  # the retry policy's attempts
    assert scheduled[-1] == "handle_chain_error"
