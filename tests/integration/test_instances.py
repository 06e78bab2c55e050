"""Running instances on the real sidecar: status, long poll, events, lifecycle, purge, history."""

import uuid

import httpx
import pytest

from tests.integration.polling import start, wait_for, wait_until
from tests.integration.stacks import EVERY_STORE

pytestmark = pytest.mark.stores(*EVERY_STORE)

ORDER = {"order_id": "o-1", "product": "Laptop", "quantity": 1, "cost": 5000}


def test_unknown_instance_is_404_everywhere(api: httpx.Client) -> None:
    missing = f"missing-{uuid.uuid4().hex}"
    assert api.get(f"/status/{missing}").status_code == 404
    assert api.get(f"/workflows/{missing}/history").status_code == 404
    assert api.post(f"/workflows/{missing}/events/x", json={}).status_code == 404
    for action in ("terminate", "pause", "resume"):
        assert api.post(f"/workflows/{missing}/{action}").status_code == 404
    assert api.delete(f"/workflows/{missing}").status_code == 404


def test_event_to_a_finished_instance_is_409(api: httpx.Client) -> None:
    iid = start(api, "purchase_approval", {**ORDER, "cost": 1})
    wait_for(api, iid)
    response = api.post(
        f"/workflows/{iid}/events/approval_received", json={"approved": True, "approver": "late"}
    )
    assert response.status_code == 409
    assert response.json()["error"] == "already_finished"


def test_approval_raised_right_after_start_is_not_lost(api: httpx.Client) -> None:
    iid = start(api, "purchase_approval", ORDER)
    assert (
        api.post(
            f"/workflows/{iid}/events/approval_received",
            json={"approved": True, "approver": "Early Bird"},
        ).status_code
        == 202
    )
    assert wait_for(api, iid)["output"]["approved_by"] == "Early Bird"


def test_paused_instance_is_suspended_then_resumes_where_it_waited(api: httpx.Client) -> None:
    iid = start(api, "purchase_approval", ORDER)
    wait_for(api, iid, {"RUNNING"})
    assert api.post(f"/workflows/{iid}/pause").status_code == 202
    wait_for(api, iid, {"SUSPENDED"})
    assert api.post(f"/workflows/{iid}/resume").status_code == 202
    wait_for(api, iid, {"RUNNING"})
    api.post(
        f"/workflows/{iid}/events/approval_received", json={"approved": False, "approver": "z"}
    )
    assert wait_for(api, iid)["output"]["status"] == "rejected"


def test_purge_refuses_running_then_deletes_finished(api: httpx.Client) -> None:
    iid = start(api, "purchase_approval", ORDER)
    wait_for(api, iid, {"RUNNING"})
    assert api.delete(f"/workflows/{iid}").status_code == 409
    assert api.post(f"/workflows/{iid}/terminate").status_code == 202
    wait_for(api, iid)
    assert api.delete(f"/workflows/{iid}").status_code == 204
    assert api.get(f"/status/{iid}").status_code == 404


def test_terminate_finished_instance_is_409(api: httpx.Client) -> None:
    iid = start(api, "purchase_approval", {**ORDER, "cost": 1})
    wait_for(api, iid)
    assert api.post(f"/workflows/{iid}/terminate").status_code == 409


def test_list_pages_through_instances(api: httpx.Client) -> None:
    ids = {start(api, "purchase_approval", {**ORDER, "cost": 1}) for _ in range(3)}
    for iid in ids:
        wait_for(api, iid)
    seen: set[str] = set()
    token = None
    for _ in range(1000):  # the shared stack holds every earlier test's instances too
        params = {"page_size": 10, **({"continuation_token": token} if token else {})}
        page = api.get("/workflows", params=params).json()
        seen |= {i["instance_id"] for i in page["instances"]}
        assert all(i["runtime_status"] for i in page["instances"])
        token = page["continuation_token"]
        if not token:
            break
    assert ids <= seen


def test_history_lists_events_in_order(api: httpx.Client) -> None:
    iid = start(api, "purchase_approval", ORDER)
    api.post(f"/workflows/{iid}/events/approval_received", json={"approved": True, "approver": "H"})
    wait_for(api, iid)
    events = api.get(f"/workflows/{iid}/history").json()["events"]
    kinds = [e["kind"] for e in events]
    assert kinds[0] in ("workflowStarted", "executionStarted")
    assert "eventRaised" in kinds and kinds[-1] == "executionCompleted"
    assert kinds.index("taskScheduled") < kinds.index("taskCompleted")


def test_errors_share_one_shape(api: httpx.Client) -> None:
    bodies = [
        api.get("/status/nope-123").json(),
        api.post("/start-workflow", json={"workflow": "nope"}).json(),
        api.post(
            "/start-workflow", content=b"{bad", headers={"content-type": "application/json"}
        ).json(),
    ]
    assert all(set(b) >= {"error", "message"} for b in bodies)


def test_output_and_custom_status_are_json_values(api: httpx.Client) -> None:
    iid = start(
        api, "task_chaining", {"task_id": "j", "title": "Hello there", "description": "JSON values"}
    )
    status = wait_for(api, iid)
    assert isinstance(status["output"], dict) and isinstance(status["input"], dict)
    wait_until(lambda: api.get("/readyz").status_code == 200, what="ready")


def test_status_long_poll_returns_when_the_instance_finishes(api: httpx.Client) -> None:
    iid = start(api, "fan_out_fan_in", {"task_ids": ["lp-1"], "work_seconds": 1})
    response = api.get(f"/status/{iid}", params={"wait": 20})
    assert response.status_code == 200
    assert response.json()["runtime_status"] == "COMPLETED"
    assert response.json()["output"]["succeeded"] == 1
    assert "Retry-After" not in response.headers


def test_status_long_poll_gives_up_after_the_wait(api: httpx.Client) -> None:
    iid = start(api, "purchase_approval", ORDER)
    response = api.get(f"/status/{iid}", params={"wait": 1})
    assert response.json()["runtime_status"] == "RUNNING"
    assert response.headers["Retry-After"]
    assert api.get(f"/status/{iid}", params={"wait": 31}).status_code == 422
    api.post(f"/workflows/{iid}/terminate")
