"""Admission control: over a caller's rate or the running cap, a start gets 429; nothing starts."""

import asyncio

import pytest

from app.api import admission
from app.api.admission import Admission, RunningInstances, StartRate
from app.api.errors import ApiError
from app.config import Settings
from app.sidecar import OutcomeUnknown
from tests.unit.fakes import CHAIN, FakeClient, client_for


@pytest.fixture
def fake() -> FakeClient:
    return FakeClient()


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_rate_allows_a_burst_then_refills_at_the_rate() -> None:
    clock = Clock()
    rate = StartRate(rate=2, burst=3, clock=clock)
    assert [rate.take("a") for _ in range(3)] == [0, 0, 0]
    assert rate.take("a") == pytest.approx(0.5)
    assert rate.take("b") == 0  # callers do not share a bucket
    clock.now += 0.5
    assert rate.take("a") == 0 and rate.take("a") > 0


def test_rate_keeps_at_most_the_cap_of_callers_least_recent_out(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(admission, "MAX_TRACKED_CALLERS", 3)
    clock = Clock()
    rate = StartRate(rate=1, burst=1, clock=clock)
    for caller in ("a", "b", "c"):
        assert rate.take(caller) == 0
    assert rate.take("a") > 0  # a is used again: b is now the least recent
    assert rate.take("d") == 0
    assert list(rate._buckets) == ["c", "a", "d"]
    assert rate.take("a") > 0  # still limited: its bucket was kept


def test_rate_zero_means_no_limit() -> None:
    rate = StartRate(rate=0, burst=1)
    assert all(rate.take("a") == 0 for _ in range(100))


def test_cap_counts_starts_in_progress_and_frees_a_failed_one() -> None:
    running = RunningInstances(cap=2, recheck_max=30)
    with running.slot() as started:
        started("a")
    with pytest.raises(RuntimeError), running.slot():
        assert running.count == 2
        raise RuntimeError("the start failed")
    assert running.count == 1
    with running.slot() as started:
        started("b")
    with pytest.raises(ApiError) as refused, running.slot():
        pass
    assert refused.value.status == 429 and refused.value.headers == {"Retry-After": "1"}


def test_a_start_of_unknown_outcome_is_counted(fake: FakeClient) -> None:
    fake.refuse_start = OutcomeUnknown("maybe", "deadline exceeded")
    with client_for(fake, max_running_instances=1) as http:
        lost = http.post("/start-workflow", json={**CHAIN, "instance_id": "maybe"})
        assert (lost.status_code, lost.json()["error"]) == (504, "outcome_unknown")
        fake.refuse_start = None
        refused = http.post("/start-workflow", json=CHAIN)
        assert (refused.status_code, refused.json()["error"]) == (429, "too_many_running")


def test_recheck_forgets_finished_and_backs_off_on_running() -> None:
    clock, fake = Clock(), FakeClient()
    running = RunningInstances(cap=10, recheck_max=4, clock=clock)
    for iid, status in (("done", "COMPLETED"), ("busy", "RUNNING"), ("gone", "")):
        running.add(iid)
        if status:
            fake.put(iid, "task_chaining", status)
    asyncio.run(running.recheck(fake))
    assert running.count == 3  # nothing due before a second has passed
    delays = []
    for _ in range(4):
        clock.now += 10
        asyncio.run(running.recheck(fake))
        delays.append(running._tracked["busy"].delay)
    assert running.count == 1 and delays == [2, 4, 4, 4]


def test_start_over_the_rate_is_429_with_retry_after(fake: FakeClient) -> None:
    with client_for(fake, max_starts_per_second=0.5, start_burst=2) as http:
        answers = [http.post("/start-workflow", json=CHAIN) for _ in range(3)]
    assert [a.status_code for a in answers] == [202, 202, 429]
    assert answers[2].json()["error"] == "rate_limited"
    assert answers[2].headers["Retry-After"] == "2"
    assert len(fake.started) == 2


def test_rate_is_per_api_key_owner(fake: FakeClient) -> None:
    keys = {"api_keys": "ann:k1,bob:k2", "max_starts_per_second": 0.1, "start_burst": 1}
    with client_for(fake, **keys) as http:
        ann = [
            http.post("/start-workflow", json=CHAIN, headers={"X-API-Key": "k1"}) for _ in range(2)
        ]
        bob = http.post("/start-workflow", json=CHAIN, headers={"X-API-Key": "k2"})
        anonymous = http.post("/start-workflow", json=CHAIN)
    assert [r.status_code for r in ann] == [202, 429] and bob.status_code == 202
    assert anonymous.status_code == 401  # who you are comes before how often


def test_start_over_the_running_cap_is_429_until_one_finishes(fake: FakeClient) -> None:
    clock = Clock()
    with client_for(fake, max_running_instances=2) as http:
        admission = Admission(Settings(max_running_instances=2), clock=clock)
        http.app.state.admission = admission  # type: ignore[attr-defined]
        first, _ = (http.post("/start-workflow", json=CHAIN) for _ in range(2))
        refused = http.post("/workflows/task_chaining", json=CHAIN["input"])
        assert refused.status_code == 429 and refused.json()["error"] == "too_many_running"
        assert refused.headers["Retry-After"] == "1" and len(fake.started) == 2
        fake.put(first.json()["instance_id"], "task_chaining", "COMPLETED")
        clock.now += 1
        asyncio.run(admission.running.recheck(fake))
        assert http.post("/start-workflow", json=CHAIN).status_code == 202


def test_an_end_a_poll_sees_frees_its_place_at_once(fake: FakeClient) -> None:
    with client_for(fake, max_running_instances=1) as http:
        first = http.post("/start-workflow", json=CHAIN).json()["instance_id"]
        assert http.post("/start-workflow", json=CHAIN).status_code == 429
        fake.put(first, "task_chaining", "COMPLETED")
        assert http.get(f"/status/{first}", params={"wait": 1}).status_code == 200
        # no recheck ran (the first is a second after the start): the long poll's answer did it
        assert http.post("/start-workflow", json=CHAIN).status_code == 202


def test_invalid_start_does_not_hold_a_place(fake: FakeClient) -> None:
    with client_for(fake, max_running_instances=1) as http:
        bad = http.post("/start-workflow", json={"workflow": "task_chaining", "input": {}})
        good = http.post("/start-workflow", json=CHAIN)
    assert (bad.status_code, good.status_code) == (422, 202)


def test_a_start_is_refused_while_the_worker_holds_its_bound_of_work(fake: FakeClient) -> None:
    with client_for(fake, max_pending_work_items=3) as http:
        backlog = http.app.state.admission.backlog  # type: ignore[attr-defined]
        backlog.pending = lambda: 3
        refused = http.post("/start-workflow", json=CHAIN)
        assert (refused.status_code, refused.json()["error"]) == (429, "worker_busy")
        assert refused.headers["Retry-After"] == "1"
        backlog.pending = lambda: 2
        assert http.post("/start-workflow", json=CHAIN).status_code == 202


def test_waiting_instances_never_close_the_replica_to_new_work(fake: FakeClient) -> None:
    """By default only work counts: a thousand instances waiting for a human hold none."""
    with client_for(fake, max_starts_per_second=0) as http:
        for n in range(1000):
            fake.put(f"waiting-{n}", "purchase_approval", "RUNNING")
        assert http.post("/start-workflow", json=CHAIN).status_code == 202
