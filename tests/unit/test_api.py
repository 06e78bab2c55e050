"""The HTTP contract's validation and error paths, with an in-memory stand-in for the sidecar.

The same endpoints run against the real sidecar in tests/integration/test_api.py.
"""

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.config import Settings
from app.main import create_app
from app.sidecar import InstanceState, OutcomeUnknown, SidecarRejected, SidecarUnavailable


class FakeRuntime:
    def start(self) -> None: ...
    def shutdown(self) -> None: ...
    def wait_for_worker_ready(self, timeout: float) -> bool:
        return True


class FakeClient:
    def __init__(self) -> None:
        self.states: dict[str, InstanceState] = {}
        self.started: list[tuple[str, Any, str]] = []
        self.events: list[tuple[str, str, Any]] = []
        self.down = False
        self.scheduler_down = False
        self.answer_lost = False
        self.refuse_start: str | None = None

    def _check(self) -> None:
        if self.down:
            raise SidecarUnavailable("connection refused")

    def put(self, instance_id: str, workflow: str, status: str) -> None:
        self.states[instance_id] = InstanceState(
            instance_id, workflow, status, None, None, None, None, None, None
        )

    async def close(self) -> None: ...

    async def start(self, workflow: str, payload: Any, instance_id: str) -> str:
        self._check()
        if self.refuse_start:
            raise SidecarRejected(self.refuse_start)
        self.started.append((workflow, payload, instance_id))
        self.put(instance_id, workflow, "RUNNING")
        return instance_id

    async def get(self, instance_id: str) -> InstanceState | None:
        self._check()
        return self.states.get(instance_id)

    async def raise_event(self, instance_id: str, name: str, payload: Any) -> None:
        self.events.append((instance_id, name, payload))
        if self.answer_lost:
            raise OutcomeUnknown(instance_id, "deadline exceeded")

    async def probe_state(self, probe_id: str) -> bool:
        return not self.down

    async def probe_actors(self, probe_id: str) -> bool:
        return not self.down

    async def probe_scheduler(self, name: str) -> bool:
        return not (self.down or self.scheduler_down)

    async def terminate(self, instance_id: str, reason: str | None) -> None:
        self.events.append((instance_id, "terminate", reason))

    async def purge(self, instance_id: str) -> int:
        return 1 if self.states.pop(instance_id, None) else 0


@pytest.fixture
def fake() -> FakeClient:
    return FakeClient()


def client_for(fake: FakeClient, **settings: Any) -> TestClient:
    app = create_app(
        Settings(**settings), runtime_factory=lambda _: FakeRuntime(), client_factory=lambda _: fake
    )
    return TestClient(app)


@pytest.fixture
def http(fake: FakeClient) -> Iterator[TestClient]:
    with client_for(fake, max_body_bytes=4096) as client:
        yield client


DECISION = {"approved": True, "approver": "A"}
CHAIN = {
    "workflow": "task_chaining",
    "input": {"task_id": "t", "title": "Hello there", "description": "Long enough text"},
}


def test_start_returns_202_with_location_and_links(http: TestClient, fake: FakeClient) -> None:
    response = http.post("/start-workflow", json={**CHAIN, "instance_id": "abc"})
    assert response.status_code == 202
    assert response.headers["Location"] == "/status/abc"
    assert response.headers["Retry-After"] == "1"
    body = response.json()
    assert body["status_url"] == "/status/abc"
    assert body["raise_event_url"] == "/workflows/abc/events/{event_name}"
    assert fake.started == [("task_chaining", CHAIN["input"], "abc")]


def test_unknown_workflow_is_422_listing_the_valid_names(
    http: TestClient, fake: FakeClient
) -> None:
    response = http.post("/start-workflow", json={"workflow": "nope", "input": {}})
    assert response.status_code == 422
    assert response.json()["details"]["valid_workflows"] == [
        "fan_out_fan_in",
        "hybrid",
        "monitor",
        "purchase_approval",
        "task_chaining",
    ]
    assert fake.started == []


def test_invalid_input_is_422_with_field_errors_and_nothing_starts(
    http: TestClient, fake: FakeClient
) -> None:
    response = http.post(
        "/start-workflow",
        json={"workflow": "purchase_approval", "input": {"order_id": "o", "cost": -1}},
    )
    assert response.status_code == 422
    locs = {tuple(d["loc"]) for d in response.json()["details"]}
    assert {("input", "cost"), ("input", "product"), ("input", "quantity")} <= locs
    assert fake.started == []


def test_fan_out_above_the_maximum_is_422(http: TestClient) -> None:
    ids = [f"i{i}" for i in range(5001)]
    with client_for(FakeClient()) as big:
        response = big.post("/workflows/fan_out_fan_in", json={"task_ids": ids})
    assert response.status_code == 422


def test_service_fills_max_parallel_and_threshold(fake: FakeClient) -> None:
    with client_for(fake, default_max_parallel=7, approval_threshold=50) as http:
        http.post("/workflows/fan_out_fan_in", json={"task_ids": ["a"]})
        http.post(
            "/workflows/purchase_approval",
            json={
                "order_id": "o",
                "product": "p",
                "quantity": 1,
                "cost": 10,
                "approval_threshold": 1e9,
            },
        )
    assert fake.started[0][1]["max_parallel"] == 7
    assert fake.started[1][1]["approval_threshold"] == 50


def test_running_instance_id_is_409_and_not_started_twice(
    http: TestClient, fake: FakeClient
) -> None:
    fake.put("dup", "task_chaining", "RUNNING")
    response = http.post("/start-workflow", json={**CHAIN, "instance_id": "dup"})
    assert response.status_code == 409
    assert fake.started == []


@pytest.mark.parametrize("bad", ["../etc", "a/b", "x" * 129, "é", "-lead", "a b"])
def test_odd_instance_ids_are_422(http: TestClient, bad: str) -> None:
    assert http.post("/start-workflow", json={**CHAIN, "instance_id": bad}).status_code == 422


@pytest.mark.parametrize("bad", ["..", "%2e%2e", "x" * 200, "%C3%A9"])
def test_odd_instance_ids_in_paths_are_422_or_404(http: TestClient, bad: str) -> None:
    assert http.get(f"/status/{bad}").status_code in (404, 422)


def test_status_of_unknown_instance_is_404(http: TestClient) -> None:
    response = http.get("/status/missing")
    assert response.status_code == 404
    assert response.json()["error"] == "not_found"


def test_status_has_retry_after_only_while_running(http: TestClient, fake: FakeClient) -> None:
    fake.put("r", "hybrid", "RUNNING")
    fake.put("d", "hybrid", "COMPLETED")
    assert http.get("/status/r").headers.get("Retry-After") == "1"
    assert "Retry-After" not in http.get("/status/d").headers


def test_event_to_finished_instance_is_409(http: TestClient, fake: FakeClient) -> None:
    fake.put("done", "purchase_approval", "COMPLETED")
    response = http.post(
        "/workflows/done/events/approval_received", json={"approved": True, "approver": "x"}
    )
    assert response.status_code == 409
    assert fake.events == []


def test_malformed_approval_is_422_and_not_raised(http: TestClient, fake: FakeClient) -> None:
    fake.put("po", "purchase_approval", "RUNNING")
    response = http.post("/workflows/po/events/approval_received", json={"approved": "maybe"})
    assert response.status_code == 422
    assert fake.events == []


def test_purge_of_running_instance_is_409(http: TestClient, fake: FakeClient) -> None:
    fake.put("run", "hybrid", "RUNNING")
    assert http.delete("/workflows/run").status_code == 409
    fake.put("run", "hybrid", "COMPLETED")
    assert http.delete("/workflows/run").status_code == 204


def test_oversized_body_is_413(http: TestClient) -> None:
    response = http.post(
        "/start-workflow",
        content=b"{" + b" " * 5000 + b"}",
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 413
    assert response.json()["error"] == "body_too_large"


def test_oversized_chunked_body_is_413(http: TestClient) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"workflow": "'
        yield b"x" * 5000
        yield b'"}'

    response = http.post(
        "/start-workflow", content=chunks(), headers={"content-type": "application/json"}
    )
    assert response.status_code == 413


def test_malformed_json_is_422(http: TestClient) -> None:
    response = http.post(
        "/start-workflow", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert response.status_code == 422
    assert response.json()["error"] == "invalid_request"


def test_sidecar_down_is_503_with_retry_after(http: TestClient, fake: FakeClient) -> None:
    fake.down = True
    response = http.get("/status/any")
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    assert response.json()["error"] == "sidecar_unavailable"


def test_readyz_names_what_is_not_ready(http: TestClient, fake: FakeClient) -> None:
    assert http.get("/readyz").json() == {
        "sidecar": True,
        "placement": True,
        "scheduler": True,
        "worker": True,
    }
    fake.scheduler_down = True
    response = http.get("/readyz")  # probed afresh, not from the answer a change would use
    assert response.status_code == 503 and response.headers["Retry-After"]
    assert response.json()["scheduler"] is False


def test_change_waits_for_readiness_then_503_not_ready_and_nothing_sent(
    fake: FakeClient,
) -> None:
    fake.put("po", "purchase_approval", "RUNNING")
    fake.scheduler_down = True
    with client_for(fake, ready_wait_seconds=0.5) as http:
        started = time.monotonic()
        response = http.post("/workflows/po/events/approval_received", json=DECISION)
        waited = time.monotonic() - started
    assert response.status_code == 503 and response.headers["Retry-After"]
    assert response.json()["error"] == "not_ready"
    assert response.json()["details"] == {"not_ready": ["scheduler"]}
    assert 0.4 < waited < 3
    assert fake.events == []


def test_change_goes_through_once_the_runtime_recovers(fake: FakeClient) -> None:
    fake.put("po", "purchase_approval", "RUNNING")
    fake.scheduler_down = True
    with client_for(fake, ready_wait_seconds=5) as http:
        threading.Timer(0.5, lambda: setattr(fake, "scheduler_down", False)).start()
        response = http.post("/workflows/po/events/approval_received", json=DECISION)
    assert response.status_code == 202
    assert len(fake.events) == 1


def test_lost_answer_is_504_outcome_unknown_with_the_status_url(
    http: TestClient, fake: FakeClient
) -> None:
    fake.put("po", "purchase_approval", "RUNNING")
    fake.answer_lost = True
    response = http.post("/workflows/po/events/approval_received", json=DECISION)
    assert response.status_code == 504
    body = response.json()
    assert body["error"] == "outcome_unknown"
    assert body["details"]["status_url"] == "/status/po"
    assert "Retry-After" not in response.headers and "retry" not in body["message"].lower()


def test_keys_protect_mutations_but_not_reads_health_or_docs(fake: FakeClient) -> None:
    with client_for(fake, api_keys="alice:s3cret") as http:
        assert http.post("/start-workflow", json=CHAIN).status_code == 401
        assert (
            http.post("/start-workflow", json=CHAIN, headers={"X-API-Key": "wrong"}).status_code
            == 401
        )
        assert fake.started == []
        assert (
            http.post("/start-workflow", json=CHAIN, headers={"X-API-Key": "s3cret"}).status_code
            == 202
        )
        for path in ("/healthz", "/readyz", "/docs", "/openapi.json"):
            assert http.get(path).status_code == 200


def test_approval_records_the_key_owner_not_the_payload(fake: FakeClient) -> None:
    fake.put("po", "purchase_approval", "RUNNING")
    with client_for(fake, api_keys="alice:s3cret") as http:
        response = http.post(
            "/workflows/po/events/approval_received",
            json={"approved": True, "approver": "A", "authorized_by": "mallory"},
            headers={"X-API-Key": "s3cret"},
        )
    assert response.status_code == 202
    assert fake.events[0][2]["authorized_by"] == "alice"


def test_start_racing_an_active_instance_is_409(http: TestClient, fake: FakeClient) -> None:
    fake.refuse_start = "an active workflow with ID 'r' already exists"
    response = http.post("/start-workflow", json={**CHAIN, "instance_id": "r"})
    assert response.status_code == 409
    assert response.json()["error"] == "instance_exists"


def test_other_sidecar_refusals_are_502_without_their_details(
    http: TestClient, fake: FakeClient
) -> None:
    fake.refuse_start = "state store redis-internal:6379 said no"
    response = http.post("/start-workflow", json=CHAIN)
    assert response.status_code == 502
    assert "redis" not in response.text


def test_unknown_typed_start_is_422_not_405(http: TestClient) -> None:
    response = http.post("/workflows/nope", json={})
    assert response.status_code == 422
    assert response.json()["error"] == "unknown_workflow"


def test_event_and_lifecycle_202s_carry_location_and_retry_after(
    http: TestClient, fake: FakeClient
) -> None:
    fake.put("po", "purchase_approval", "RUNNING")
    for response in (
        http.post("/workflows/po/events/other", json={"x": 1}),
        http.post("/workflows/po/terminate"),
    ):
        assert response.status_code == 202
        assert response.headers["Location"] == "/status/po"
        assert response.headers["Retry-After"] == "1"


def test_event_body_that_is_not_json_is_415(http: TestClient, fake: FakeClient) -> None:
    fake.put("po", "purchase_approval", "RUNNING")
    response = http.post(
        "/workflows/po/events/note", content=b"hello", headers={"content-type": "text/plain"}
    )
    assert response.status_code == 415
    assert fake.events == []


def test_monitor_outside_the_allowed_hosts_is_422(fake: FakeClient) -> None:
    with client_for(fake, monitor_allowed_hosts="status.example.com") as http:
        refused = http.post("/workflows/monitor", json={"job_id": "j", "url": "http://10.0.0.1/"})
        allowed = http.post(
            "/workflows/monitor", json={"job_id": "j", "url": "https://status.example.com/health"}
        )
    assert refused.status_code == 422 and "APP_MONITOR_ALLOWED_HOSTS" in refused.text
    assert allowed.status_code == 202


@pytest.mark.parametrize("keys", ["key-without-owner", "a:k,b:k", "a:"])
def test_malformed_api_keys_refuse_to_start_rather_than_open_up(keys: str) -> None:
    with pytest.raises(ValueError, match="APP_API_KEYS"):
        Settings(api_keys=keys)
