"""Access control end to end: API keys on the app, the API token on the sidecar."""

from pathlib import Path

import httpx

from tests.integration.polling import wait_for
from tests.integration.stacks import running_stack


def test_keys_gate_changes_and_record_the_approver_and_daprd_wants_its_token(
    tmp_path: Path,
) -> None:
    keys = {"APP_API_KEYS": "alice:alice-key,bob:bob-key"}
    with (
        running_stack(tmp_path, api_token="sidecar-secret", app_env=keys) as stack,
        httpx.Client(base_url=stack.replicas[0].url, timeout=30) as api,
    ):
        order = {"order_id": "auth-order", "product": "p", "quantity": 1, "cost": 5000}
        assert api.post("/workflows/purchase_approval", json=order).status_code == 401
        assert api.get("/workflows").json()["instances"] == []  # nothing started
        started = api.post(
            "/workflows/purchase_approval", json=order, headers={"X-API-Key": "alice-key"}
        )
        assert started.status_code == 202
        iid = started.json()["instance_id"]
        event = f"/workflows/{iid}/events/approval_received"
        decision = {"approved": True, "approver": "Bob B."}
        assert api.post(event, json=decision).status_code == 401
        assert api.post(event, json=decision, headers={"X-API-Key": "bob-key"}).status_code == 202
        out = wait_for(api, iid)["output"]
        assert (out["approved_by"], out["authorized_by"]) == ("Bob B.", "bob")
        for open_path in ("/healthz", "/readyz", "/docs", f"/status/{iid}"):
            assert api.get(open_path).status_code == 200
        # The sidecar refuses callers without its token.
        http_port = stack.replicas[0].http_port
        refused = httpx.get(f"http://127.0.0.1:{http_port}/v1.0/metadata")
        assert refused.status_code == 401
