"""Changes wait for a recovering runtime, bounded: then 503 not_ready, and nothing is sent."""

import threading
import time

from tests.unit.fakes import DECISION, FakeClient, client_for


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
