"""Starting workflows and waiting for them through the HTTP API, as the integration tests do."""

import time
from typing import Any

import httpx

FINISHED = {"COMPLETED", "FAILED", "TERMINATED"}


def start(api: httpx.Client, workflow: str, payload: dict[str, Any], **extra: Any) -> str:
    response = api.post("/start-workflow", json={"workflow": workflow, "input": payload, **extra})
    assert response.status_code == 202, response.text
    return str(response.json()["instance_id"])


def wait_for(
    api: httpx.Client, instance_id: str, statuses: set[str] = FINISHED, timeout: float = 60.0
) -> dict[str, Any]:
    """Poll /status until the instance reaches one of the statuses."""
    deadline = time.monotonic() + timeout
    body: dict[str, Any] = {}
    while time.monotonic() < deadline:
        response = api.get(f"/status/{instance_id}")
        if response.status_code == 200:
            body = response.json()
            if body["runtime_status"] in statuses:
                return body
        time.sleep(0.2)
    raise AssertionError(f"{instance_id} not in {statuses} after {timeout}s: {body}")


def wait_until(condition: Any, timeout: float = 30.0, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"{what} not met after {timeout}s")


def status(api: httpx.Client, instance_id: str) -> dict[str, Any]:
    """The status, or an empty dict while the service answers with an error (it is recovering)."""
    try:
        response = api.get(f"/status/{instance_id}")
    except httpx.HTTPError:
        return {}
    return dict(response.json()) if response.status_code == 200 else {}
