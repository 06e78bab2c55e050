"""The status cache: bounded, single-flight, never older than its bound, never backwards."""

import asyncio
import random
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient

from app.sidecar import InstanceState
from app.sidecar.cache import OnEnd, StatusCache
from tests.unit.fakes import CHAIN, FakeClient

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def state(
    instance_id: str, status: str = "RUNNING", seconds: int = 0, run: int = 0
) -> InstanceState:
    created = T0 + timedelta(hours=run)
    stamp = created + timedelta(seconds=seconds)
    return InstanceState(instance_id, "w", status, created, stamp, None, None, None, None)


class Store:
    """The sidecar's answers, counted; a read can be held open to overlap others."""

    def __init__(self) -> None:
        self.states: dict[str, InstanceState] = {}
        self.reads = 0
        self.gate: asyncio.Event | None = None

    async def read(self, instance_id: str) -> InstanceState | None:
        self.reads += 1
        answer = self.states.get(instance_id)
        if self.gate is not None:
            await self.gate.wait()
        return answer


class Clock:
    now = 100.0

    def __call__(self) -> float:
        return self.now


def cache(
    store: Store,
    clock: Callable[[], float],
    entries: int = 100,
    running: float = 0.25,
    on_end: OnEnd | None = None,
) -> StatusCache:
    return StatusCache(
        store.read,
        lambda s: s.runtime_status.encode(),
        running_max_age=running,
        finished_max_age=2.0,
        max_entries=entries,
        clock=clock,
        on_end=on_end,
    )


def test_running_status_is_read_again_once_older_than_the_bound() -> None:
    store, clock = Store(), Clock()
    statuses = cache(store, clock)
    store.states["a"] = state("a")

    async def scenario() -> None:
        assert (await statuses.get("a")).body == b"RUNNING"
        store.states["a"] = state("a", "COMPLETED", 1)
        clock.now += 0.2
        assert (await statuses.get("a")).body == b"RUNNING"  # within the bound: no call
        assert store.reads == 1
        clock.now += 0.06
        assert (await statuses.get("a")).body == b"COMPLETED"  # the end shows within 0.25 s
        clock.now += 1.9
        assert (await statuses.get("a")).body == b"COMPLETED"
        assert store.reads == 2  # a finished state is kept longer

    asyncio.run(scenario())


def test_purge_elsewhere_shows_within_the_finished_bound() -> None:
    store, clock = Store(), Clock()
    statuses = cache(store, clock)
    store.states["a"] = state("a", "COMPLETED")

    async def scenario() -> None:
        await statuses.get("a")
        del store.states["a"]  # purged through another replica
        clock.now += 2.0
        assert (await statuses.get("a")).state is None

    asyncio.run(scenario())


def test_each_end_it_learns_of_is_told_at_once() -> None:
    store, clock, ended = Store(), Clock(), list[str]()
    statuses = cache(store, clock, on_end=ended.append)
    store.states.update(running=state("running"), done=state("done", "COMPLETED"))

    async def scenario() -> None:
        for instance_id in ("running", "done", "unknown"):
            await statuses.get(instance_id)
        statuses.remember(state("waited", "FAILED", 3))  # a long poll's answer

    asyncio.run(scenario())
    assert ended == ["done", "unknown", "waited"]


def test_concurrent_reads_of_one_instance_share_one_call() -> None:
    store, clock = Store(), Clock()
    statuses = cache(store, clock)
    store.states["a"] = state("a")

    async def scenario() -> None:
        store.gate = asyncio.Event()
        readers = [asyncio.create_task(statuses.get("a")) for _ in range(50)]
        await asyncio.sleep(0)
        store.gate.set()
        entries = await asyncio.gather(*readers)
        assert store.reads == 1
        assert {e.body for e in entries} == {b"RUNNING"}

    asyncio.run(scenario())


def test_a_cancelled_reader_does_not_cancel_the_shared_call() -> None:
    store, clock = Store(), Clock()
    statuses = cache(store, clock)
    store.states["a"] = state("a")

    async def scenario() -> None:
        store.gate = asyncio.Event()
        first = asyncio.create_task(statuses.get("a"))
        second = asyncio.create_task(statuses.get("a"))
        await asyncio.sleep(0)
        first.cancel()
        store.gate.set()
        assert (await second).body == b"RUNNING"
        assert store.reads == 1

    asyncio.run(scenario())


def test_status_never_goes_backwards() -> None:
    store, clock = Store(), Clock()
    statuses = cache(store, clock)

    async def scenario() -> None:
        statuses.remember(state("a", "COMPLETED", 5))  # a long poll's answer
        store.states["a"] = state("a", "RUNNING", 4)  # a read that started before the end
        clock.now += 5
        assert (await statuses.get("a")).body == b"COMPLETED"
        statuses.remember(state("a", "RUNNING", 3))
        assert (await statuses.get("a")).body == b"COMPLETED"
        store.states["a"] = state("a", "RUNNING", 0, run=1)  # purged and run again elsewhere
        clock.now += 2
        assert (await statuses.get("a")).body == b"RUNNING"

    asyncio.run(scenario())


def test_forget_makes_the_next_read_fresh_and_drops_a_read_in_flight() -> None:
    store, clock = Store(), Clock()
    statuses = cache(store, clock)
    store.states["a"] = state("a", "COMPLETED")

    async def scenario() -> None:
        await statuses.get("a")
        store.gate = asyncio.Event()
        clock.now += 2.0
        stale = asyncio.create_task(statuses.get("a"))
        await asyncio.sleep(0)
        del store.states["a"]  # purged through this replica while a read was in flight
        statuses.forget("a")
        store.gate.set()
        await stale
        assert (await statuses.get("a")).state is None

    asyncio.run(scenario())


def test_memory_is_bounded_least_recently_read_go_first() -> None:
    store, clock = Store(), Clock()
    statuses = cache(store, clock, entries=10)
    for n in range(1000):
        store.states[f"i{n}"] = state(f"i{n}", "COMPLETED")

    async def scenario() -> None:
        await statuses.get("i0")
        for n in range(1, 1000):
            await statuses.get(f"i{n}")
            await statuses.get("i0")  # read often: stays
        assert len(statuses) == 10
        reads = store.reads
        await statuses.get("i0")
        await statuses.get("i999")
        assert store.reads == reads
        await statuses.get("i1")
        assert store.reads == reads + 1

    asyncio.run(scenario())


def test_purge_and_rerun_through_this_replica_show_at_once(
    http: TestClient, fake: FakeClient
) -> None:
    fake.put("done", "task_chaining", "COMPLETED")
    assert http.get("/status/done").json()["runtime_status"] == "COMPLETED"
    assert http.delete("/workflows/done").status_code == 204
    assert http.get("/status/done").status_code == 404
    fake.put("again", "task_chaining", "COMPLETED")
    assert http.get("/status/again").json()["runtime_status"] == "COMPLETED"
    body = {**CHAIN, "instance_id": "again"}
    assert http.post("/start-workflow", json=body).status_code == 202
    assert http.get("/status/again").json()["runtime_status"] == "RUNNING"


def test_terminate_through_this_replica_shows_at_once(http: TestClient, fake: FakeClient) -> None:
    fake.put("run", "task_chaining", "RUNNING")
    assert http.get("/status/run").json()["runtime_status"] == "RUNNING"
    assert http.post("/workflows/run/terminate").status_code == 202
    fake.put("run", "task_chaining", "TERMINATED")
    assert http.get("/status/run").json()["runtime_status"] == "TERMINATED"


def test_a_fast_poller_of_a_running_instance_gets_one_fresh_answer_per_bound() -> None:
    store = Store()
    statuses = cache(store, time.monotonic, running=0.05)
    store.states["a"] = state("a")

    async def scenario() -> None:
        loop = asyncio.get_running_loop()
        await statuses.get("a", paced=True)
        started = loop.time()
        store.states["a"] = state("a", "COMPLETED", 1)
        assert (await statuses.get("a", paced=True)).body == b"COMPLETED"
        assert loop.time() - started >= 0.04  # held until a fresh read was due
        assert store.reads == 2
        started = loop.time()
        await statuses.get("a", paced=True)  # finished: answered at once, from memory
        assert loop.time() - started < 0.04
        assert store.reads == 2

    asyncio.run(scenario())


def idle(store: Store, clock: Clock, spread: Callable[[], float]) -> StatusCache:
    return StatusCache(
        store.read,
        lambda s: s.runtime_status.encode(),
        running_max_age=0.25,
        finished_max_age=2.0,
        idle_max_age=1.0,
        max_entries=1000,
        clock=clock,
        spread=spread,
    )


async def ages(statuses: StatusCache, clock: Clock, reads: int) -> list[float]:
    """The max age of each of `reads` fresh reads of "a", each made when it is due."""
    seen = []
    for _ in range(reads):
        entry = await statuses.get("a")
        seen.append(entry.max_age)
        clock.now += entry.max_age
    return seen


def test_an_unchanged_running_instance_is_read_less_often_up_to_the_idle_bound() -> None:
    store, clock = Store(), Clock()
    statuses = idle(store, clock, spread=lambda: 0.0)
    store.states["a"] = state("a")

    async def scenario() -> None:
        # waiting: doubled up to the bound
        assert await ages(statuses, clock, 5) == [0.25, 0.5, 1.0, 1.0, 1.0]
        store.states["a"] = state("a", seconds=5)  # a step
        assert (await statuses.get("a")).max_age == 0.25  # a change resets it
        assert store.reads == 6

    asyncio.run(scenario())


def test_a_backed_off_bound_is_spread_over_its_upper_half() -> None:
    store, clock = Store(), Clock()
    statuses = idle(store, clock, spread=lambda: 1.0)  # the most left out: half
    store.states["a"] = state("a")

    async def scenario() -> None:
        # the bound after a change stays whole; the doubling goes on from the unspread bound
        assert await ages(statuses, clock, 5) == [0.25, 0.25, 0.5, 0.5, 0.5]

    asyncio.run(scenario())


def test_instances_read_together_are_next_read_apart() -> None:
    store, clock = Store(), Clock()
    statuses = idle(store, clock, spread=random.Random(7).random)
    ids = [f"a{i}" for i in range(200)]
    for instance_id in ids:
        store.states[instance_id] = state(instance_id)

    async def scenario() -> None:
        for _ in range(3):  # three rounds of all 200 read together: bounds 0.25, 0.5, 1
            due = [(await statuses.get(i)).max_age for i in ids]
            clock.now += max(due)
        backed_off = [(await statuses.get(i)).max_age for i in ids]  # the last round's bounds
        assert all(0.5 <= age <= 1.0 for age in backed_off)
        assert max(backed_off) - min(backed_off) > 0.4  # due over half a second, not at once

    asyncio.run(scenario())


class Watched(Store):
    """A store whose completion waits are held until `end` is set, and counted."""

    def __init__(self) -> None:
        super().__init__()
        self.waits = 0
        self.end = asyncio.Event()

    async def wait(self, instance_id: str, timeout: float) -> InstanceState | None:
        self.waits += 1
        await self.end.wait()
        return self.states.get(instance_id)


def watched(store: Watched, running: float = 5.0, watches: int = 10) -> StatusCache:
    return StatusCache(
        store.read,
        lambda s: s.runtime_status.encode(),
        running_max_age=running,
        finished_max_age=2.0,
        max_entries=10,
        wait=store.wait,
        max_watches=watches,
    )


def test_a_paced_poll_answers_the_end_as_soon_as_the_one_watch_sees_it() -> None:
    async def scenario() -> None:
        store = Watched()
        statuses = watched(store)  # a long bound: only the watch can answer early
        store.states["a"] = state("a")
        await statuses.get("a", paced=True)
        pollers = [asyncio.create_task(statuses.get("a", paced=True)) for _ in range(3)]
        await asyncio.sleep(0.01)
        assert not any(p.done() for p in pollers)  # held: nothing new yet
        assert store.waits == 1 and statuses.watching == 1  # one watch for all its pollers
        store.states["a"] = state("a", "COMPLETED", 1)
        store.end.set()
        answers = await asyncio.wait_for(asyncio.gather(*pollers), 1.0)
        assert {a.body for a in answers} == {b"COMPLETED"}
        assert store.reads == 1  # the watch's answer, not a read, ended the wait
        assert statuses.watching == 0

    asyncio.run(scenario())


def test_a_poll_right_after_a_start_here_waits_for_the_end_without_a_read() -> None:
    async def scenario() -> None:
        store = Watched()
        statuses = watched(store)
        store.states["a"] = state("a")
        statuses.started("a")  # its answer, Retry-After: 1, was the first
        poller = asyncio.create_task(statuses.get("a", paced=True))
        await asyncio.sleep(0.01)
        assert not poller.done() and store.waits == 1 and store.reads == 0
        store.states["a"] = state("a", "COMPLETED", 1)
        store.end.set()
        assert (await asyncio.wait_for(poller, 1.0)).body == b"COMPLETED"
        assert store.reads == 0  # one call in all: the watch

        store.end.clear()
        store.states["b"] = state("b")
        statuses = watched(store, running=0.05)
        statuses.started("b")
        answer = await asyncio.wait_for(statuses.get("b", paced=True), 1.0)
        assert answer.body == b"RUNNING" and store.reads == 1  # not ended: read at the bound

    asyncio.run(scenario())


def test_a_long_polls_end_is_kept_unless_the_id_was_started_again_meanwhile() -> None:
    async def scenario() -> None:
        store, ends = Watched(), list[str]()
        statuses = StatusCache(
            store.read,
            lambda s: s.runtime_status.encode(),
            running_max_age=5.0,
            finished_max_age=2.0,
            max_entries=10,
            wait=store.wait,
            on_end=ends.append,
        )
        store.states["a"] = state("a", "COMPLETED", 1)
        store.end.set()
        kept = await statuses.waited("a", 10)
        assert kept is not None and kept.body == b"COMPLETED"
        assert ends == ["a"] and (await statuses.get("a")).body == b"COMPLETED"
        assert store.reads == 0  # kept: the end was told, and answers the next poll

        store.end.clear()
        store.states["b"] = state("b", "COMPLETED", 1)  # run 0 has ended; its answer is late
        statuses.started("b")
        poll = asyncio.create_task(statuses.waited("b", 10))
        await asyncio.sleep(0.01)
        statuses.started("b")  # the id started again here before the answer lands
        store.end.set()
        late = await poll
        assert late is not None and late.body == b"COMPLETED"  # it asked about run 0: its end
        store.states["b"] = state("b", run=1)
        assert ends == ["a"]  # run 1 is still counted as running
        assert (await statuses.get("b")).body == b"RUNNING"  # not run 0's end: read afresh
        assert statuses.long_polled == 0

    asyncio.run(scenario())


def test_watches_are_bounded_and_forget_ends_one() -> None:
    async def scenario() -> None:
        store = Watched()
        statuses = watched(store, watches=2)
        for name in "abc":
            store.states[name] = state(name)
            await statuses.get(name, paced=True)
        assert statuses.watching == 2  # "c" is polled by the max age alone
        statuses.forget("a")
        await asyncio.sleep(0)
        assert statuses.watching == 1

    asyncio.run(scenario())


def test_a_long_poll_waits_without_a_read_only_for_instances_known_to_exist() -> None:
    # A wait on an id the sidecar does not know lasts its whole timeout: only an instance
    # started here, or read running a moment ago, is waited for before a read.
    store, clock = Store(), Clock()
    statuses = cache(store, clock, entries=2)

    async def scenario() -> None:
        assert not statuses.may_be_running("unknown")
        statuses.started("a")
        assert statuses.may_be_running("a") and store.reads == 0
        statuses.forget("a")  # purged through this replica
        assert not statuses.may_be_running("a")
        store.states["b"] = state("b")
        await statuses.get("b")
        assert statuses.may_be_running("b")
        store.states["b"] = state("b", "COMPLETED", 1)
        clock.now += 1
        await statuses.get("b")
        assert not statuses.may_be_running("b")  # finished: answered from memory
        for name in "cde":
            statuses.started(name)
        assert not statuses.may_be_running("c")  # bounded like the entries

    asyncio.run(scenario())


def test_the_freshness_policy_is_plain_data() -> None:
    """The policy alone, no cache, no clock: how long each kind of state serves."""
    from app.sidecar.freshness import Freshness

    policy = Freshness(1.0, 2.0, 5.0, spread=lambda: 0.0)
    running = InstanceState("i", "w", "RUNNING", None, None, None, None, None, None)
    first = policy.entry(running, b"{}", 0.0, None)
    second = policy.entry(running, b"{}", 1.0, first)
    third = policy.entry(running, b"{}", 3.0, second)
    assert [e.max_age for e in (first, second, third)] == [1.0, 2.0, 4.0]
    assert policy.entry(running, b"{}", 7.0, policy.entry(running, b"{}", 3.0, third)).step == 5.0
    done = InstanceState("i", "w", "COMPLETED", None, None, None, None, None, None)
    assert policy.entry(done, b"{}", 0.0, third).max_age == 2.0
    assert policy.entry(None, b"", 0.0, None).max_age == 1.0
    assert policy.young(first, 0.9) and not policy.young(first, 1.0)
