"""One error shape: bodies too large, malformed JSON, a sidecar down or refusing."""

from collections.abc import Iterator

from fastapi.testclient import TestClient

from app.api.responses import ERROR_EXAMPLES
from app.sidecar import SidecarRejected
from tests.unit.fakes import CHAIN, DECISION, FakeClient


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


def test_other_sidecar_refusals_are_502_without_their_details(
    http: TestClient, fake: FakeClient
) -> None:
    fake.refuse_start = SidecarRejected("state store redis-internal:6379 said no")
    response = http.post("/start-workflow", json=CHAIN)
    assert response.status_code == 502
    assert "redis" not in response.text


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


def test_error_examples_are_what_the_api_sends(http: TestClient, fake: FakeClient) -> None:
    def example(status: int, code: str) -> str:
        return dict(ERROR_EXAMPLES[status])[code]

    fake.put("po", "purchase_approval", "RUNNING")
    bad_event = http.post("/workflows/po/events/approval_received", json={"approved": "x"})
    assert bad_event.json()["message"] == example(422, "invalid_event")
    fake.answer_lost = True
    lost = http.post("/workflows/po/events/approval_received", json=DECISION)
    assert lost.json()["message"] == example(504, "outcome_unknown")
    fake.refuse_start = SidecarRejected("no")
    assert http.post("/start-workflow", json=CHAIN).json()["message"] == example(
        502, "sidecar_rejected"
    )
    fake.down = True
    assert http.get("/status/po").json()["message"] == example(503, "sidecar_unavailable")
