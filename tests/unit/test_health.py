"""/healthz and /readyz: what is not ready is named."""

import threading
import time

from fastapi.testclient import TestClient

from app.config import Settings
from app.main import create_app
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


class WaitingWorker:
    """A worker whose start() waits for a sidecar that never answers, as the SDK's does, until
    shutdown() ends it."""

    def __init__(self) -> None:
        self.stopped = threading.Event()

    def start(self) -> None:
        self.stopped.wait(20)
        raise RuntimeError("Worker was stopped before the work item stream was established")

    def shutdown(self) -> None:
        self.stopped.set()

    def wait_for_worker_ready(self, timeout: float) -> bool:
        return False


def test_the_app_answers_while_its_worker_waits_for_the_sidecar(fake: FakeClient) -> None:
    worker = WaitingWorker()
    app = create_app(Settings(), runtime_factory=lambda _: worker, client_factory=lambda _: fake)
    began = time.monotonic()
    with TestClient(app) as http:
        assert http.get("/healthz").status_code == 200
        response = http.get("/readyz")
        assert response.status_code == 503 and response.json()["worker"] is False
    assert worker.stopped.is_set() and time.monotonic() - began < 10  # the stop ended the start
