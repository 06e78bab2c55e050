"""The service's API as the e2e checks call it, through Tilt's forward: start, poll, raise an
event; retried where a restart in between is what is being tested."""

from __future__ import annotations

import time
import uuid
from typing import Any

import httpx

from tests.e2e.conftest import wait_until


def start(api: httpx.Client, workflow: str, body: dict[str, Any], instance_id: str) -> None:
    response = api.post(f"/workflows/{workflow}", params={"instance_id": instance_id}, json=body)
    assert response.status_code == 202, response.text


def status(api: httpx.Client, instance_id: str, wait: float = 0) -> dict[str, Any]:
    params = {"wait": str(wait)} if wait else {}
    response = api.get(f"/status/{instance_id}", params=params, timeout=wait + 30)
    assert response.status_code == 200, response.text
    return dict(response.json())


def finished(api: httpx.Client, instance_id: str, timeout: float = 180) -> dict[str, Any]:
    """Poll (long polls, retried across restarts) until the instance is no longer running."""
    def done() -> dict[str, Any] | None:
        try:
            body = status(api, instance_id, wait=20)
        except (httpx.HTTPError, AssertionError):
            time.sleep(1)
            return None
        return body if body["runtime_status"] not in ("RUNNING", "PENDING") else None
    return dict(wait_until(f"{instance_id} to finish", done, timeout, interval=0))


def running(api: httpx.Client, instance_id: str) -> None:
    wait_until(f"{instance_id} RUNNING", lambda: status(api, instance_id)["runtime_status"]
               == "RUNNING", 60)


def approve(api: httpx.Client, instance_id: str, approved: bool, approver: str) -> None:
    def raised() -> bool:
        try:
            response = api.post(f"/workflows/{instance_id}/events/approval_received",
                                json={"approved": approved, "approver": approver})
        except httpx.HTTPError:
            return False
        return response.status_code == 202
    wait_until(f"approval event for {instance_id}", raised, 120, interval=2)


def uid(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def order(instance_id: str, cost: int = 5000) -> dict[str, Any]:
    return {"order_id": instance_id, "product": "Laptop", "quantity": 2, "cost": cost,
            "approval_timeout_seconds": 600}


def task(task_id: str) -> dict[str, str]:
    return {"task_id": task_id, "title": "URGENT: fix login",
            "description": "The login API returns 500"}



def completed_and_waiting(api: httpx.Client) -> tuple[str, str]:
    """A task chain run to completion and a purchase approval waiting for its decision."""
    done, waiting = uid("chain"), uid("order")
    start(api, "task_chaining", task(done), done)
    assert finished(api, done)["runtime_status"] == "COMPLETED"
    start(api, "purchase_approval", order(waiting), waiting)
    running(api, waiting)
    return done, waiting


def kept_across_a_store_restart(api: httpx.Client, done: str, waiting: str) -> float:
    """Once the store's new pod is ready: the waiting approval is approved and completes, the
    completed instance is still there. The seconds the approval took to complete."""
    began = time.monotonic()
    approve(api, waiting, True, "Jane Doe")
    out = finished(api, waiting)
    assert (out["runtime_status"], out["output"]["status"]) == ("COMPLETED", "approved")
    assert status(api, done)["runtime_status"] == "COMPLETED"
    return time.monotonic() - began
