"""The floor everything stands on: a workflow through the HTTP API on the real sidecar."""

import httpx
import pytest

from tests.integration.polling import start, wait_for
from tests.integration.stacks import EVERY_STORE
from tools.stack import Stack

pytestmark = pytest.mark.stores(*EVERY_STORE)


def test_service_is_ready_on_a_real_sidecar(api: httpx.Client, stack: Stack) -> None:
    assert api.get("/healthz").json() == {"status": "ok"}
    ready = {"sidecar": True, "placement": True, "scheduler": True, "worker": True}
    assert api.get("/readyz").json() == ready
    assert {"placement", "scheduler", stack.store, "daprd-0", "app-0"} <= set(stack.processes)


def test_workflow_started_over_http_completes_with_its_output(api: httpx.Client) -> None:
    instance_id = start(
        api,
        "task_chaining",
        {
            "task_id": "smoke-1",
            "title": "URGENT: smoke",
            "description": "Check the API end to end",
        },
    )
    status = wait_for(api, instance_id)
    assert status["runtime_status"] == "COMPLETED"
    assert status["output"]["score"] == 85
    history = api.get(f"/workflows/{instance_id}/history").json()["events"]
    assert [e["name"] for e in history if e["kind"] == "taskScheduled"] == [
        "validate_task",
        "enrich_task",
        "score_task",
    ]
