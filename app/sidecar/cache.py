"""Recent instance states, so that clients polling /status cost the sidecar little.

Without it every poll is a gRPC call to daprd and a state-store read. Here a state read from the
sidecar is kept, with the JSON the API answers with, and served again while its policy says it is
young (app/sidecar/freshness.py); through this replica, ``forget()`` makes the next read fresh.

A paced read (a poll of /status without ?wait) of a running instance whose state is young waits
until a fresh read is due, or until a newer state arrives, and answers with that: a client
polling faster than the bound is slowed to one answer per bound. A start through this replica
counts as a first answer: a paced read within ``running_max_age`` of it waits the same way.
While a running instance is polled, one completion watch (the sidecar's
WaitForInstanceCompletion, at most ``max_watches`` at once) stands for all its pollers, so its
end is answered as soon as the sidecar reports it stored, not at the next read. Concurrent reads
of one instance share one call (single-flight). A state never replaces a newer one of the same
instance, so a status never goes backwards here. A long poll's end (``waited``) is kept like a
read, unless this replica changed the instance while it waited (the end may then be of a run
started over or purged since): it answers that poll only.
The entries are a bounded LRU: at most ``max_entries`` instances are kept, the least recently
read are dropped first. Each end it learns of (a finished state, or no such instance) is told to
``on_end``, at once: admission counts the instance as finished without asking the sidecar again.
"""

import asyncio
import contextlib
import random
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable

from app.sidecar.convert import InstanceState
from app.sidecar.freshness import Entry, Freshness, newer

__all__ = ["Entry", "OnEnd", "StateLookup", "StatusCache"]

Reader = Callable[[str], Awaitable[InstanceState | None]]
Waiter = Callable[[str, float], Awaitable[InstanceState | None]]  # the state once finished
Render = Callable[[InstanceState], bytes]
OnEnd = Callable[[str], None]  # an instance found finished, or unknown to the sidecar
WATCH_SECONDS = 30.0  # one completion watch; a poll after it lapses starts the next


class StatusCache:
    """Instance states read through `read`, kept while young enough, rendered once by `render`;
    with `wait`, a polled running instance's end is watched for."""

    def __init__(
        self,
        read: Reader,
        render: Render,
        *,
        running_max_age: float,
        finished_max_age: float,
        max_entries: int,
        idle_max_age: float | None = None,
        wait: Waiter | None = None,
        max_watches: int = 1024,
        clock: Callable[[], float] = time.monotonic,
        spread: Callable[[], float] = random.random,
        on_end: OnEnd | None = None,
    ) -> None:
        self._read, self._render, self._wait, self._clock = read, render, wait, clock
        self._on_end = on_end
        idle = running_max_age if idle_max_age is None else idle_max_age
        self.policy = Freshness(running_max_age, finished_max_age, idle, spread)
        self.max_entries, self.max_watches = max_entries, max_watches
        self._entries: OrderedDict[str, Entry] = OrderedDict()
        self._flights: dict[str, asyncio.Task[Entry]] = {}
        self._watches: dict[str, asyncio.Task[None]] = {}
        self._wakers: dict[str, asyncio.Future[None]] = {}
        self._started: OrderedDict[str, float] = OrderedDict()  # started here: when
        self._long_polls: dict[str, set[object]] = {}  # waits in progress, dropped by forget()

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def watching(self) -> int:
        return len(self._watches)

    @property
    def long_polled(self) -> int:
        """Instances with a long poll in progress."""
        return len(self._long_polls)

    async def get(self, instance_id: str, *, paced: bool = False) -> Entry:
        """The instance's state, at most its max age old; one sidecar call for concurrent reads.
        Paced: a running state is not answered again before it is due for a fresh read, unless
        a newer one (its end, from the watch) arrives first."""
        entry = self._entries.get(instance_id)
        if entry is not None and self._young(entry):
            self._entries.move_to_end(instance_id)
            if not (paced and entry.state is not None and not entry.state.finished):
                return entry
            await self._held(instance_id, entry.read_at + entry.max_age)
            return await self.get(instance_id)
        since = self._started.get(instance_id)  # the start's answer was the first
        due = None if since is None else since + self.policy.running_max_age
        if paced and entry is None and due is not None and self._clock() < due:
            await self._held(instance_id, due)
            return await self.get(instance_id)
        flight = self._flights.get(instance_id)
        if flight is None:
            flight = asyncio.create_task(self._fetch(instance_id))
            self._flights[instance_id] = flight
        # shield: one reader's cancelled request must not cancel the others' shared call
        entry = await asyncio.shield(flight)
        if paced and entry.state is not None and not entry.state.finished:
            self._watch(instance_id)
        return entry

    def started(self, instance_id: str) -> None:
        """This replica started the instance: it exists, so a long poll can wait at once, and the
        start's answer counts as a first read, so a paced poll right after it waits as above."""
        self.forget(instance_id)
        self._started[instance_id] = self._clock()
        while len(self._started) > self.max_entries:
            self._started.popitem(last=False)

    def may_be_running(self, instance_id: str) -> bool:
        """Known to exist, and not known to be finished: started here, or young and running.
        (A wait on an id the sidecar does not know lasts its whole timeout, so only these are
        waited for before a read.)"""
        entry = self._entries.get(instance_id)
        if entry is not None and self._young(entry):
            return entry.state is not None and not entry.state.finished
        return instance_id in self._started

    async def waited(self, instance_id: str, timeout: float) -> Entry | None:
        """A long poll: the instance's state once finished, or None after `timeout`. Kept, unless
        this replica changed the instance meanwhile: then the answer may be about a run or a
        state that is gone (a start of the id again, a purge), and it answers this reader only."""
        assert self._wait is not None
        token = object()
        self._long_polls.setdefault(instance_id, set()).add(token)
        try:
            state = await self._wait(instance_id, timeout)
        finally:
            polls = self._long_polls.get(instance_id, set())
            current = token in polls
            polls.discard(token)
            if current and not polls:
                del self._long_polls[instance_id]
        if state is None:
            return None
        return self.remember(state) if current else self._entry(state, self._clock(), None)

    def remember(self, state: InstanceState) -> Entry:
        """A state read elsewhere (a watch's answer): kept if it is not older than ours."""
        old = self._entries.get(state.instance_id)
        if old is not None and not newer(old.state, state):
            return old
        entry = self._entry(state, self._clock(), old)
        self._store(state.instance_id, entry)
        return entry

    def forget(self, instance_id: str) -> None:
        """This replica changed the instance (start, event, terminate, purge...): read it afresh.
        A call already in flight still answers its readers, but is not kept; paced readers
        waiting on the old state read again now."""
        self._entries.pop(instance_id, None)
        self._flights.pop(instance_id, None)
        self._started.pop(instance_id, None)
        self._long_polls.pop(instance_id, None)
        watch = self._watches.pop(instance_id, None)
        if watch is not None:
            watch.cancel()
        self._wake(instance_id)

    async def _held(self, instance_id: str, due: float) -> None:
        """Until `due`, or until a newer state (the watch's end, a read, a forget) wakes it."""
        self._watch(instance_id)
        waker = self._wakers.get(instance_id)
        if waker is None or waker.done():
            waker = self._wakers[instance_id] = asyncio.get_running_loop().create_future()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(waker), max(0.0, due - self._clock()))

    def _young(self, entry: Entry) -> bool:
        return self.policy.young(entry, self._clock())

    def _entry(self, state: InstanceState | None, read_at: float, old: Entry | None) -> Entry:
        """The entry for a state just read, rendered once; the policy says how long it serves."""
        body = self._render(state) if state is not None else b""
        return self.policy.entry(state, body, read_at, old)

    async def _fetch(self, instance_id: str) -> Entry:
        flight = asyncio.current_task()  # the future readers share, while it is in _flights
        try:
            read_at = self._clock()
            state = await self._read(instance_id)
            old = self._entries.get(instance_id)
            if old is not None and not newer(old.state, state):
                return old
            entry = self._entry(state, read_at, old)
            if self._flights.get(instance_id) is flight:  # not forgotten meanwhile
                self._store(instance_id, entry)
            return entry
        finally:
            if self._flights.get(instance_id) is flight:
                self._flights.pop(instance_id)
            self._wake(instance_id)  # paced readers look again, whatever this read gave

    def _watch(self, instance_id: str) -> None:
        """Watch a polled running instance for its end, once, within the bound on watches."""
        if self._wait is None or instance_id in self._watches:
            return
        if len(self._watches) >= self.max_watches:
            return  # polls still see the end within the max age
        self._watches[instance_id] = asyncio.create_task(self._watch_one(instance_id))

    async def _watch_one(self, instance_id: str) -> None:
        assert self._wait is not None
        watch = asyncio.current_task()
        try:
            state = await self._wait(instance_id, WATCH_SECONDS)
        except Exception:  # the sidecar away or refusing: polls read on, the next one re-watches
            state = None
        finally:
            if self._watches.get(instance_id) is watch:
                self._watches.pop(instance_id)
        if state is not None and state.finished:
            self.remember(state)

    def _wake(self, instance_id: str) -> None:
        waker = self._wakers.pop(instance_id, None)
        if waker is not None and not waker.done():
            waker.set_result(None)

    def _store(self, instance_id: str, entry: Entry) -> None:
        self._wake(instance_id)
        if self._on_end is not None and (entry.state is None or entry.state.finished):
            self._on_end(instance_id)
        if self.policy.running_max_age <= 0 and self.policy.finished_max_age <= 0:
            return  # caching off: single-flight only
        self._entries[instance_id] = entry
        self._entries.move_to_end(instance_id)
        while len(self._entries) > self.max_entries:
            dropped, _ = self._entries.popitem(last=False)
            self._wake(dropped)  # its waker too: wakers never outnumber the entries for long


class StateLookup:
    """The cache as admission's lookup: a recheck answered by a young entry costs no call."""

    def __init__(self, cache: StatusCache) -> None:
        self._cache = cache

    async def get(self, instance_id: str) -> InstanceState | None:
        return (await self._cache.get(instance_id)).state
