"""Rerun from an event and the list's filters, on the real sidecar."""

import uuid
from datetime import UTC, datetime, timedelta

import httpx

from tests.integration.polling import start, wait_for

TASK = {"task_id": "t-1", "title": "URGENT: fix login", "description": "SSO users get a 500"}


def activities(api: httpx.Client, iid: str) -> list[tuple[int, str]]:
    events = api.get(f"/workflows/{iid}/history").json()["events"]
    return [(e["event_id"], e["name"]) for e in events if e["kind"] == "taskScheduled"]


def test_rerun_from_an_activity_runs_it_and_what_follows_again(api: httpx.Client) -> None:
    iid = start(api, "task_chaining", TASK)
    first = wait_for(api, iid)
    assert first["runtime_status"] == "COMPLETED"
    steps = activities(api, iid)
    assert len(steps) >= 2
    from_event = steps[1][0]

    new_id = f"rerun-{uuid.uuid4().hex}"
    response = api.post(
        f"/workflows/{iid}/rerun", json={"from_event_id": from_event, "new_instance_id": new_id}
    )
    assert response.status_code == 202, response.text
    assert response.json()["instance_id"] == new_id
    again = wait_for(api, new_id)
    assert again["runtime_status"] == "COMPLETED"
    assert again["workflow"] == "task_chaining"
    assert again["output"]["score"] == first["output"]["score"]


def test_rerun_refuses_a_running_instance_and_a_non_activity_event(api: httpx.Client) -> None:
    order = {"order_id": "o-9", "product": "Desk", "quantity": 1, "cost": 5000}
    running = start(api, "purchase_approval", order)
    wait_for(api, running, {"RUNNING"})
    refused = api.post(f"/workflows/{running}/rerun", json={"from_event_id": 1})
    assert (refused.status_code, refused.json()["error"]) == (409, "still_running")
    api.post(f"/workflows/{running}/terminate")
    wait_for(api, running)
    not_activity = api.post(f"/workflows/{running}/rerun", json={"from_event_id": 0})
    assert (not_activity.status_code, not_activity.json()["error"]) == (422, "invalid_event_id")
    assert not_activity.json()["details"]["rerunnable_event_ids"]


def test_rerun_into_an_id_in_use_or_its_own_is_refused(api: httpx.Client) -> None:
    done, other = start(api, "task_chaining", TASK), start(api, "task_chaining", TASK)
    wait_for(api, done)
    wait_for(api, other)
    taken = api.post(
        f"/workflows/{done}/rerun", json={"from_event_id": 1, "new_instance_id": other}
    )
    assert (taken.status_code, taken.json()["error"]) == (409, "instance_exists")
    itself = api.post(
        f"/workflows/{done}/rerun", json={"from_event_id": 1, "new_instance_id": done}
    )
    assert (itself.status_code, itself.json()["error"]) == (422, "invalid_request")


def test_list_filters_find_instances_by_workflow_status_and_time(api: httpx.Client) -> None:
    since = (datetime.now(UTC) - timedelta(seconds=2)).isoformat()
    chain = start(api, "task_chaining", TASK)
    order = {"order_id": "o-8", "product": "Desk", "quantity": 1, "cost": 5000}
    waiting = start(api, "purchase_approval", order)
    wait_for(api, chain)
    wait_for(api, waiting, {"RUNNING"})

    def found(**params: str) -> set[str]:
        ids: set[str] = set()
        query: dict[str, str] = {"created_after": since, "page_size": "100", **params}
        while True:
            body = api.get("/workflows", params=query).json()
            ids |= {i["instance_id"] for i in body["instances"]}
            if not body["continuation_token"]:
                return ids
            query["continuation_token"] = body["continuation_token"]

    assert {chain, waiting} <= found()
    assert waiting in found(workflow="purchase_approval", status="RUNNING")
    assert chain not in found(workflow="purchase_approval")
    assert waiting not in found(status="COMPLETED")
    future = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    assert found(created_after=future) == set()
    api.post(f"/workflows/{waiting}/terminate")
