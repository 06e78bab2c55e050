"""Starting workflows on the real sidecar: 202 with where to poll, ids in use."""

import uuid

import httpx

from tests.integration.polling import start, wait_for

ORDER = {"order_id": "o-1", "product": "Laptop", "quantity": 1, "cost": 5000}


def test_start_answers_202_with_location_and_retry_after(api: httpx.Client) -> None:
    iid = f"api-{uuid.uuid4().hex}"
    response = api.post("/workflows/purchase_approval", params={"instance_id": iid}, json=ORDER)
    assert response.status_code == 202
    assert response.headers["Location"] == f"/status/{iid}"
    assert int(response.headers["Retry-After"]) >= 1
    status = wait_for(api, iid, {"RUNNING"})
    assert status["workflow"] == "purchase_approval"
    assert status["input"]["cost"] == 5000 and status["output"] is None
    assert api.get(f"/status/{iid}").headers["Retry-After"]
    api.post(f"/workflows/{iid}/terminate")


def test_same_id_while_running_is_409_then_reusable_once_finished(api: httpx.Client) -> None:
    iid = f"dup-{uuid.uuid4().hex}"
    start(api, "purchase_approval", ORDER, instance_id=iid)
    again = api.post(
        "/start-workflow",
        json={"workflow": "purchase_approval", "input": ORDER, "instance_id": iid},
    )
    assert again.status_code == 409
    assert api.post(f"/workflows/{iid}/terminate", json={"reason": "test"}).status_code == 202
    assert wait_for(api, iid)["runtime_status"] == "TERMINATED"
    start(
        api,
        "task_chaining",
        {"task_id": "t", "title": "Hello there", "description": "Reused id"},
        instance_id=iid,
    )
    assert wait_for(api, iid)["workflow"] == "task_chaining"
