"""Running instances: status, events, lifecycle and purge, with a stand-in sidecar."""

import asyncio
import itertools

import httpx
import pytest
from fastapi.testclient import TestClient

from app.config import Settings
from app.main import create_app
from tests.unit.fakes import FakeClient, FakeRuntime, nested


# ("..": the client resolves /status/.. to /, the dashboard, before sending anything.)
@pytest.mark.parametrize("bad", ["%2e%2e", "x" * 200, "%C3%A9"])
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
    for name in ("approval_received", "Approval_Received"):  # the SDK ignores the case
        response = http.post(f"/workflows/po/events/{name}", json={"approved": "maybe"})
        assert response.status_code == 422
    assert fake.events == []


def test_event_payload_nests_at_most_64_levels(http: TestClient, fake: FakeClient) -> None:
    fake.put("po", "purchase_approval", "RUNNING")
    assert http.post("/workflows/po/events/note", json=nested(64)).status_code == 202
    # Refused before the sidecar client encodes it: near Python's recursion limit it could not.
    for depth in (65, 500):
        response = http.post("/workflows/po/events/note", json=nested(depth))
        assert (response.status_code, response.json()["error"]) == (422, "invalid_request")
    assert len(fake.events) == 1


def test_purge_of_running_instance_is_409(http: TestClient, fake: FakeClient) -> None:
    fake.put("run", "hybrid", "RUNNING")
    assert http.delete("/workflows/run").status_code == 409
    fake.put("run", "hybrid", "COMPLETED")
    assert http.delete("/workflows/run").status_code == 204


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


def test_pause_of_a_paused_instance_is_409_and_never_reaches_the_sidecar(
    http: TestClient, fake: FakeClient
) -> None:
    fake.put("po", "purchase_approval", "RUNNING")
    assert http.post("/workflows/po/pause").status_code == 202
    again = http.post("/workflows/po/pause")
    assert (again.status_code, again.json()["error"]) == (409, "already_paused")
    assert [call for _, call, _ in fake.events] == ["pause"]


@pytest.mark.parametrize("status", ["RUNNING", "PENDING"])
def test_resume_of_an_instance_not_paused_is_409_and_never_reaches_the_sidecar(
    http: TestClient, fake: FakeClient, status: str
) -> None:
    fake.put("po", "purchase_approval", status)
    response = http.post("/workflows/po/resume")
    assert (response.status_code, response.json()["error"]) == (409, "not_paused")
    assert "RUNNING, not paused" in response.json()["message"] or status == "PENDING"
    assert fake.events == []


def test_pause_resume_and_terminate_of_a_finished_instance_are_409(
    http: TestClient, fake: FakeClient
) -> None:
    fake.put("done", "purchase_approval", "COMPLETED")
    for call in ("pause", "resume", "terminate"):
        response = http.post(f"/workflows/done/{call}")
        assert (response.status_code, response.json()["error"]) == (409, "already_finished")
    assert fake.events == []


def test_a_paused_instance_can_be_terminated(http: TestClient, fake: FakeClient) -> None:
    fake.put("po", "purchase_approval", "SUSPENDED")
    assert http.post("/workflows/po/terminate").status_code == 202
    assert [call for _, call, _ in fake.events] == ["terminate"]


def test_pauses_and_resumes_at_once_through_one_replica_never_repeat(fake: FakeClient) -> None:
    fake.put("po", "purchase_approval", "RUNNING")
    app = create_app(
        Settings(), runtime_factory=lambda _: FakeRuntime(), client_factory=lambda _: fake
    )

    async def together() -> list[int]:
        transport = httpx.ASGITransport(app=app)
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(transport=transport, base_url="http://localhost") as client,
        ):
            calls = [client.post(f"/workflows/po/{c}") for c in ("pause", "resume") * 3]
            return [answer.status_code for answer in await asyncio.gather(*calls)]

    codes = asyncio.run(together())
    calls = [call for _, call, _ in fake.events]
    # Each call saw the state the one before it left: never two pauses or two resumes in a row.
    assert calls and all(a != b for a, b in itertools.pairwise(calls)), calls
    assert codes.count(202) == len(calls)
    assert set(codes) <= {202, 409}
