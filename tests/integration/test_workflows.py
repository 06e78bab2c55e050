"""Every workflow and every branch, through the HTTP API on the real sidecar with Redis."""

import time
import uuid

import httpx

from tests.integration.conftest import start, wait_for, wait_until
from tests.integration.target import serve_target

TASK = {"task_id": "t-1", "title": "URGENT: login down", "description": "The auth API returns 500"}


def uid(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


# -- task_chaining ---------------------------------------------------------------------------------


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


# -- fan_out_fan_in --------------------------------------------------------------------------------


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


# -- hybrid ----------------------------------------------------------------------------------------


def test_hybrid_processes_the_valid_tasks(api: httpx.Client) -> None:
    tasks = [TASK, {"task_id": "bad", "title": "x", "description": "y"}]
    out = wait_for(api, start(api, "hybrid", {"tasks": tasks}))["output"]
    assert (out["status"], out["validated"], out["processed"]) == ("completed", 2, 1)
    assert out["rejected_ids"] == ["bad"] and out["results"][0]["score"] == 85


def test_hybrid_with_no_valid_items(api: httpx.Client) -> None:
    tasks = [{"task_id": "b1", "title": "x", "description": "y"}]
    out = wait_for(api, start(api, "hybrid", {"tasks": tasks}))["output"]
    assert (out["status"], out["processed"], out["rejected_ids"]) == ("no_valid_items", 0, ["b1"])


# -- monitor ---------------------------------------------------------------------------------------


def test_monitor_alerts_once_per_transition_and_continues_as_new(api: httpx.Client) -> None:
    with serve_target() as target:
        iid = start(
            api,
            "monitor",
            {
                "job_id": "job",
                "url": target.url,
                "healthy_interval_seconds": 0.5,
                "unhealthy_interval_seconds": 0.5,
                "max_checks": 6,
            },
        )

        def custom() -> dict[str, int]:
            return dict(api.get(f"/status/{iid}").json()["custom_status"] or {})

        wait_until(lambda: custom().get("check_count", 0) >= 2, what="two healthy checks")
        target.status = 503
        out = wait_for(api, iid, timeout=60)["output"]
    assert out["check_count"] == 6 and out["healthy"] is False
    assert out["alerts_sent"] == 1  # several unhealthy checks, one transition


def test_monitor_runs_until_terminated(api: httpx.Client) -> None:
    with serve_target() as target:
        iid = start(
            api,
            "monitor",
            {"job_id": "forever", "url": target.url, "healthy_interval_seconds": 0.5},
        )
        wait_until(lambda: target.hits >= 3, what="three checks")
        status = api.get(f"/status/{iid}").json()
        assert status["runtime_status"] == "RUNNING"
        assert status["custom_status"]["job_id"] == "forever"
        assert status["custom_status"]["next_check_at"]
        assert api.post(f"/workflows/{iid}/terminate", json={"reason": "done"}).status_code == 202
        assert wait_for(api, iid)["runtime_status"] == "TERMINATED"


# -- purchase_approval -----------------------------------------------------------------------------


def order(cost: float, timeout: float = 120) -> dict[str, object]:
    return {
        "order_id": uid("order"),
        "product": "Laptop",
        "quantity": 1,
        "cost": cost,
        "approval_timeout_seconds": timeout,
    }


def decide(api: httpx.Client, iid: str, approved: bool, approver: str) -> httpx.Response:
    return api.post(
        f"/workflows/{iid}/events/approval_received",
        json={"approved": approved, "approver": approver},
    )


def test_small_order_is_auto_approved(api: httpx.Client) -> None:
    out = wait_for(api, start(api, "purchase_approval", order(999)))["output"]
    assert (out["status"], out["message"]) == ("auto_approved", "Auto-approved")


def test_large_order_approved_by_a_human(api: httpx.Client) -> None:
    iid = start(api, "purchase_approval", order(5000))
    wait_for(api, iid, {"RUNNING"})
    assert decide(api, iid, True, "Jane Doe").status_code == 202
    out = wait_for(api, iid)["output"]
    assert (out["status"], out["approved_by"], out["message"]) == (
        "approved",
        "Jane Doe",
        "Approved by 'Jane Doe'",
    )


def test_large_order_rejected_by_a_human(api: httpx.Client) -> None:
    iid = start(api, "purchase_approval", order(5000))
    assert decide(api, iid, False, "Bob").status_code == 202
    out = wait_for(api, iid)["output"]
    assert (out["status"], out["approved_by"]) == ("rejected", "Bob")
    assert out["message"].startswith("Rejected by 'Bob'")


def test_unanswered_order_times_out_and_is_cancelled(api: httpx.Client) -> None:
    iid = start(api, "purchase_approval", order(5000, timeout=2))
    out = wait_for(api, iid, timeout=30)["output"]
    assert out["status"] == "cancelled"
    assert out["message"] == "Cancelled: no approval within 2 seconds"
    names = [
        e["name"]
        for e in api.get(f"/workflows/{iid}/history").json()["events"]
        if e["kind"] == "taskScheduled"
    ]
    assert names == ["request_approval", "release_reservation"]


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
