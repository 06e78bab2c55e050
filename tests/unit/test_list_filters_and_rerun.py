"""GET /workflows filters and POST /workflows/{id}/rerun: their rules and errors, no sidecar."""

import asyncio
from collections.abc import Iterator
from datetime import timedelta

import httpx
import pytest
from fastapi.testclient import TestClient

from app.api.catalogue import CATALOG
from app.api.listing import MAX_CONCURRENT_SCANS, STORE_PAGE
from app.config import Settings
from app.main import create_app
from app.sidecar import InstanceExists, InstanceNotFound, InstanceState
from app.workflows.purchase_approval import PurchaseOrder
from tests.unit.fakes import (
    APPROVAL_HISTORY,
    T0,
    FakeRuntime,
    PagesFake,
    client_for,
    event,
    nested,
)


@pytest.fixture
def fake() -> PagesFake:
    fake = PagesFake()
    for n in range(6):
        workflow = "purchase_approval" if n % 2 else "task_chaining"
        status = "COMPLETED" if n < 4 else "RUNNING"
        fake.add(f"i-{n}", workflow, status, created_at=T0 + timedelta(hours=n))
    fake.histories["i-1"] = APPROVAL_HISTORY
    return fake


@pytest.fixture
def http(fake: PagesFake) -> Iterator[TestClient]:
    with client_for(fake) as client:
        yield client


def ids(response: object) -> list[str]:
    return [i["instance_id"] for i in response.json()["instances"]]  # type: ignore[attr-defined]


def test_list_filters_by_workflow_status_and_creation_time(http: TestClient) -> None:
    assert ids(http.get("/workflows", params={"workflow": "purchase_approval"})) == [
        "i-1",
        "i-3",
        "i-5",
    ]
    assert ids(http.get("/workflows", params={"status": "RUNNING"})) == ["i-4", "i-5"]
    window = {"created_after": "2026-01-01T02:00:00Z", "created_before": "2026-01-01T04:00:00"}
    assert ids(http.get("/workflows", params=window)) == ["i-2", "i-3"]


def test_filtered_pages_continue_without_skipping_a_match(http: TestClient) -> None:
    seen: list[str] = []
    params = {"workflow": "purchase_approval", "page_size": 2}
    while True:
        body = http.get("/workflows", params=params).json()
        seen += [i["instance_id"] for i in body["instances"]]
        if not body["continuation_token"]:
            break
        params["continuation_token"] = body["continuation_token"]
    assert seen == ["i-1", "i-3", "i-5"]


def test_list_refuses_an_unknown_status_and_an_empty_time_window(http: TestClient) -> None:
    assert http.get("/workflows", params={"status": "DONE"}).status_code == 422
    window = {"created_after": "2026-01-02T00:00:00Z", "created_before": "2026-01-01T00:00:00Z"}
    response = http.get("/workflows", params=window)
    assert (response.status_code, response.json()["error"]) == (422, "invalid_request")


def test_rerun_from_an_activity_starts_a_new_instance(http: TestClient, fake: PagesFake) -> None:
    order = CATALOG["purchase_approval"].example
    response = http.post(
        "/workflows/i-1/rerun",
        json={"from_event_id": 4, "new_instance_id": "again", "input": order},
    )
    assert response.status_code == 202
    assert response.headers["Location"] == "/status/again"
    assert response.json()["instance_id"] == "again"
    # place_order's input, as the activity reads it.
    stored = PurchaseOrder.model_validate(order).model_dump(mode="json")
    assert fake.reruns == [("i-1", 4, "again", stored, True)]


@pytest.mark.parametrize(
    "new_input", [None, {"x": 1}, {**CATALOG["purchase_approval"].example, "cost": -1}]
)
def test_a_reruns_new_input_is_held_to_the_model_of_the_step_it_replaces(
    http: TestClient, fake: PagesFake, new_input: object
) -> None:
    response = http.post("/workflows/i-1/rerun", json={"from_event_id": 4, "input": new_input})
    assert (response.status_code, response.json()["error"]) == (422, "invalid_input")
    assert "place_order" in response.json()["message"]
    assert response.json()["details"]
    assert fake.reruns == []


def test_rerun_without_input_keeps_the_old_one(http: TestClient, fake: PagesFake) -> None:
    assert http.post("/workflows/i-1/rerun", json={"from_event_id": 1}).status_code == 202
    assert fake.reruns[0][1] == 1 and fake.reruns[0][4] is False


@pytest.mark.parametrize(
    ("instance", "body", "status", "error"),
    [
        ("nope", {"from_event_id": 1}, 404, "not_found"),
        ("i-5", {"from_event_id": 1}, 409, "still_running"),
        ("i-1", {"from_event_id": 2}, 422, "invalid_event_id"),  # a timer
        ("i-1", {"from_event_id": 99}, 422, "invalid_event_id"),
        ("i-1", {"from_event_id": 1, "new_instance_id": "i-4"}, 409, "instance_exists"),
        ("i-1", {"from_event_id": 1, "new_instance_id": "i-0"}, 409, "instance_exists"),  # done
        ("i-1", {"from_event_id": 1, "new_instance_id": "i-1"}, 422, "invalid_request"),
        ("i-1", {"from_event_id": -1}, 422, "invalid_request"),
        ("i-1", {"from_event_id": 1, "input": nested(65)}, 422, "invalid_request"),
    ],
)
def test_rerun_refusals(
    http: TestClient,
    fake: PagesFake,
    instance: str,
    body: dict[str, object],
    status: int,
    error: str,
) -> None:
    response = http.post(f"/workflows/{instance}/rerun", json=body)
    assert (response.status_code, response.json()["error"]) == (status, error)
    assert fake.reruns == []


def test_rerun_needs_a_key_when_keys_are_set(fake: PagesFake) -> None:
    with client_for(fake, api_keys="alice:k1") as http:
        assert http.post("/workflows/i-1/rerun", json={"from_event_id": 1}).status_code == 401
        headers = {"X-API-Key": "k1"}
        response = http.post("/workflows/i-1/rerun", json={"from_event_id": 1}, headers=headers)
        assert response.status_code == 202


def test_rerun_passes_the_same_admission_as_a_start(fake: PagesFake) -> None:
    rerun = {"from_event_id": 4}
    with client_for(fake, max_starts_per_second=0.5, start_burst=2) as http:
        answers = [http.post("/workflows/i-1/rerun", json=rerun) for _ in range(3)]
    assert [a.status_code for a in answers] == [202, 202, 429]
    assert answers[2].json()["error"] == "rate_limited"
    assert len(fake.reruns) == 2


def test_rerun_counts_against_the_running_cap(fake: PagesFake) -> None:
    with client_for(fake, max_running_instances=1) as http:
        assert http.post("/workflows/i-1/rerun", json={"from_event_id": 4}).status_code == 202
        refused = http.post("/workflows/i-1/rerun", json={"from_event_id": 4})
        assert (refused.status_code, refused.json()["error"]) == (429, "too_many_running")
        started = http.post("/start-workflow", json={"workflow": "task_chaining", "input": {}})
        assert (started.status_code, started.json()["error"]) == (429, "too_many_running")
    assert len(fake.reruns) == 1


class CountingFake(PagesFake):
    """Records each read's payloads flag, and the most reads in flight at once."""

    def __init__(self) -> None:
        super().__init__()
        self.reads: list[bool] = []
        self.in_flight = self.most_in_flight = 0

    async def get(self, instance_id: str, *, payloads: bool = True) -> InstanceState | None:
        self.reads.append(payloads)
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        await asyncio.sleep(0.001)
        self.in_flight -= 1
        return await super().get(instance_id, payloads=payloads)


def test_scans_read_without_payloads_and_only_what_is_shown_whole() -> None:
    fake = CountingFake()
    for n in range(30):
        fake.add(f"s-{n:02}", "fan_out_fan_in", "RUNNING", custom_status={"done": 1, "total": 2})
    with client_for(fake) as http:
        listed = http.get("/workflows", params={"page_size": 3}).json()["instances"]
        assert [i["custom_status"] for i in listed] == [{"done": 1, "total": 2}] * 3
        assert fake.reads == [False] * 3 + [True] * 3
        fake.reads.clear()
        assert "1 / 2" in http.get("/").text  # the progress, from the rows read whole
        assert (fake.reads.count(False), fake.reads.count(True)) == (30, 25)


def test_concurrent_scans_wait_for_the_gate() -> None:
    fake = CountingFake()
    for n in range(STORE_PAGE):
        fake.add(f"g-{n:03}", "task_chaining", "COMPLETED")
    app = create_app(
        Settings(), runtime_factory=lambda _: FakeRuntime(), client_factory=lambda _: fake
    )
    app.state.client = fake  # no lifespan here: the reads alone

    async def many() -> list[int]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as http:
            params = {"page_size": STORE_PAGE}
            answers = await asyncio.gather(
                *(http.get("/workflows", params=params) for _ in range(3 * MAX_CONCURRENT_SCANS))
            )
        return [a.status_code for a in answers]

    assert set(asyncio.run(many())) == {200}
    assert fake.most_in_flight <= MAX_CONCURRENT_SCANS * STORE_PAGE


def test_rerun_racing_a_start_into_its_id_is_instance_exists(fake: PagesFake) -> None:
    async def taken(*_: object) -> str:
        raise InstanceExists("workflow 'again' has already been created")

    fake.rerun = taken  # type: ignore[method-assign, assignment]
    with client_for(fake) as http:
        response = http.post("/workflows/i-1/rerun", json={"from_event_id": 4})
    assert (response.status_code, response.json()["error"]) == (409, "instance_exists")


def test_a_continuation_token_no_page_gave_is_422(http: TestClient) -> None:
    response = http.get("/workflows", params={"continuation_token": "oops"})
    assert (response.status_code, response.json()["error"]) == (422, "invalid_request")


def test_a_child_workflow_is_not_rerun_and_the_answer_says_why(
    http: TestClient, fake: PagesFake
) -> None:
    # daprd refuses it ("cannot rerun from child-workflows"): said here, not a 502.
    fake.add("big:part-0", "fan_out_fan_in", "COMPLETED")
    parent = {"taskScheduledId": 1, "workflowInstance": {"instanceId": "big"}}
    fake.histories["big:part-0"] = [
        event(-1, "executionStarted", 0, "fan_out_fan_in", parentInstance=parent),
        event(1, "taskScheduled", 0.1, "analyze_item"),
    ]
    response = http.post("/workflows/big:part-0/rerun", json={"from_event_id": 1})
    assert (response.status_code, response.json()["error"]) == (422, "invalid_request")
    assert "child workflow" in response.json()["message"]
    assert fake.reruns == []


def test_an_instance_purged_during_a_request_is_404(
    http: TestClient, fake: PagesFake, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def purged(instance_id: str) -> list[dict[str, object]]:
        raise InstanceNotFound(f"workflow instance {instance_id!r} not found")

    monkeypatch.setattr(fake, "history", purged)
    response = http.get("/workflows/i-1/history")
    assert (response.status_code, response.json()["error"]) == (404, "not_found")
