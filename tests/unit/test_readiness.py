"""Changes wait for a recovering runtime, bounded: then 503 not_ready, and nothing is sent."""

import asyncio
import threading
import time

from app.readiness import MIN_INTERVAL, Readiness
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


class _CountingProbes:
    """A sidecar whose scheduler goes down between two probes; counts the probes made."""

    def __init__(self) -> None:
        self.probes = 0
        self.scheduler_up = True

    async def probe_state(self, _: str) -> bool:
        return True

    async def probe_actors(self, _: str) -> bool:
        return True

    async def probe_scheduler(self, _: str) -> bool:
        self.probes += 1
        return self.scheduler_up


class _Worker:
    def wait_for_worker_ready(self, _: float) -> bool:
        return True


def test_readyz_never_answers_from_a_probe_older_than_the_question() -> None:
    probes = _CountingProbes()
    readiness = Readiness(probes, _Worker())  # type: ignore[arg-type]

    async def scenario() -> tuple[bool, bool]:
        before = all((await readiness.fresh()).values())
        probes.scheduler_up = False  # a crash right after a good answer
        return before, all((await readiness.fresh()).values())

    assert asyncio.run(scenario()) == (True, False)


def test_a_flood_of_readyz_probes_at_most_every_min_interval() -> None:
    probes = _CountingProbes()
    readiness = Readiness(probes, _Worker())  # type: ignore[arg-type]

    async def flood() -> float:
        started = time.monotonic()
        await asyncio.gather(*(readiness.fresh() for _ in range(50)))
        for _ in range(5):
            await readiness.fresh()
        return time.monotonic() - started

    elapsed = asyncio.run(flood())
    assert probes.probes <= 1 + elapsed / MIN_INTERVAL + 1
