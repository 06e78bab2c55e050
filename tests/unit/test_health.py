"""/healthz and /readyz: what is not ready is named."""

from fastapi.testclient import TestClient

from tests.unit.fakes import FakeClient


def test_readyz_names_what_is_not_ready(http: TestClient, fake: FakeClient) -> None:
    assert http.get("/readyz").json() == {
        "sidecar": True,
        "placement": True,
        "scheduler": True,
        "worker": True,
    }
    fake.scheduler_down = True
    # Probed afresh: not from the answer of a moment ago, which a change would still use.
    response = http.get("/readyz")
    assert response.status_code == 503 and response.headers["Retry-After"]
    assert response.json()["scheduler"] is False
