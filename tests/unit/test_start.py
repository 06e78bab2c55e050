"""POST /start-workflow and POST /workflows/{name}: validation, defaults, ids in use."""

import pytest
from fastapi.testclient import TestClient

from app.sidecar import InstanceActive
from tests.unit.fakes import CHAIN, FakeClient, client_for


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


def test_start_racing_an_active_instance_is_409(http: TestClient, fake: FakeClient) -> None:
    fake.refuse_start = InstanceActive("an active workflow with ID 'r' already exists")
    response = http.post("/start-workflow", json={**CHAIN, "instance_id": "r"})
    assert response.status_code == 409
    assert response.json()["error"] == "instance_exists"


def test_unknown_typed_start_is_422_not_405(http: TestClient) -> None:
    response = http.post("/workflows/nope", json={})
    assert response.status_code == 422
    assert response.json()["error"] == "unknown_workflow"


def test_monitor_outside_the_allowed_hosts_is_422(fake: FakeClient) -> None:
    with client_for(fake, monitor_allowed_hosts="status.example.com") as http:
        refused = http.post("/workflows/monitor", json={"job_id": "j", "url": "http://10.0.0.1/"})
        allowed = http.post(
            "/workflows/monitor", json={"job_id": "j", "url": "https://status.example.com/health"}
        )
    assert refused.status_code == 422 and "APP_MONITOR_ALLOWED_HOSTS" in refused.text
    assert allowed.status_code == 202


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/",
        "http://2852039166/",
        "http://[::ffff:169.254.169.254]/",
        "http://metadata.google.internal./computeMetadata/v1/",
        "https://kubernetes.default.svc/",
        "http://0.0.0.0:8000/",
    ],
)
def test_monitor_aimed_inside_is_422_whatever_the_settings(fake: FakeClient, url: str) -> None:
    with client_for(fake, monitor_allow_private=True) as http:
        refused = http.post("/workflows/monitor", json={"job_id": "j", "url": url})
    assert refused.status_code == 422 and "refused" in refused.json()["message"]
    assert fake.started == []


def test_monitor_of_a_private_address_needs_the_setting(fake: FakeClient) -> None:
    job = {"job_id": "j", "url": "http://127.0.0.1:8000/healthz"}
    with client_for(fake) as http:
        assert http.post("/workflows/monitor", json=job).status_code == 422
    with client_for(fake, monitor_allow_private=True) as http:
        assert http.post("/workflows/monitor", json=job).status_code == 202


@pytest.mark.parametrize(
    ("workflow", "body"),
    [
        ("fan_out_fan_in", {"task_ids": ["a"], "work_seconds": False}),
        ("purchase_approval", {"order_id": "o", "product": "p", "quantity": 1.0, "cost": 1}),
        ("monitor", {"job_id": "j", "url": "http://localhost/", "state": {"alert_due": 0}}),
        ("task_chaining", {"task_id": 7, "title": "A title", "description": "Long enough"}),
    ],
)
def test_a_value_of_the_wrong_type_is_refused_not_coerced(
    http: TestClient, workflow: str, body: dict[str, object]
) -> None:
    response = http.post(f"/workflows/{workflow}", json=body)
    assert response.status_code == 422, response.text
    via_start = http.post("/start-workflow", json={"workflow": workflow, "input": body})
    assert via_start.status_code == 422, via_start.text
