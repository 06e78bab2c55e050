"""/healthz and /readyz: what is not ready is named."""

import time

from fastapi.testclient import TestClient

from app.api.health import READYZ_MAX_AGE
from tests.unit.fakes import FakeClient


def test_readyz_names_what_is_not_ready(http: TestClient, fake: FakeClient) -> None:
    assert http.get("/readyz").json() == {
        "sidecar": True,
        "placement": True,
        "scheduler": True,
        "worker": True,
    }
    fake.scheduler_down = True
    time.sleep(READYZ_MAX_AGE)  # probed afresh after that, not from the answer a change would use
    response = http.get("/readyz")
    assert response.status_code == 503 and response.headers["Retry-After"]
    assert response.json()["scheduler"] is False
