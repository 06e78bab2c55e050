"""Recent instance states, so that clients polling /status cost the sidecar little.

Without it every poll is a gRPC call to daprd and a state-store read. Here a state read from the
sidecar is kept, with the JSON the API answers with, and served again while it is young enough:

- a running instance's state for up to ``running_max_age`` seconds (the staleness bound: a step,
  and the end, show within it);
- a finished one (COMPLETED, FAILED, TERMINATED: immutable until purged) for up to
  ``finished_max_age`` seconds, which bounds how long a purge or a rerun through another replica
  can go unseen here; through this replica, ``forget()`` makes the next read fresh.

A paced read (a poll of /status without ?wait) of a running instance whose state was read less
than ``running_max_age`` ago waits until a fresh read is due and answers with that: a client
polling faster than the bound is slowed to one answer per bound, and sees every change as soon
as it would have anyway. Concurrent reads of one instance share one call (single-flight). A
state never replaces a newer one of the same instance, so a status never goes backwards here.
The entries are a bounded LRU: at most ``max_entries`` instances are kept, the least recently
read are dropped first.
"""

import asyncio
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from app.sidecar.convert import InstanceState

Reader = Callable[[str], Awaitable[InstanceState | None]]
Render = Callable[[InstanceState], bytes]


@dataclass(frozen=True)
class Entry:
    state: InstanceState | None  # None: the sidecar knows no such instance
    body: bytes  # what the API answers with; empty when there is no state
    read_at: float


def _newer(old: InstanceState | None, new: InstanceState | None) -> bool:
    """Whether `new` may replace `old`: a later run of the id (a rerun after a purge) always;
    within one run, never a running state after a finished one, nor an older update."""
    if old is None or new is None:
        return True
    if old.created_at and new.created_at and old.created_at != new.created_at:
        return new.created_at > old.created_at
    if old.finished and not new.finished:
        return False
    if old.last_updated_at and new.last_updated_at:
        return new.last_updated_at >= old.last_updated_at
    return True


class StatusCache:
    """Instance states read through `read`, kept while young enough, rendered once by `render`."""

    def __init__(
        self,
        read: Reader,
        render: Render,
        *,
        running_max_age: float,
        finished_max_age: float,
        max_entries: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._read, self._render, self._clock = read, render, clock
        self.running_max_age, self.finished_max_age = running_max_age, finished_max_age
        self.max_entries = max_entries
        self._entries: OrderedDict[str, Entry] = OrderedDict()
        self._flights: dict[str, asyncio.Task[Entry]] = {}

    def __len__(self) -> int:
        return len(self._entries)

    async def get(self, instance_id: str, *, paced: bool = False) -> Entry:
        """The instance's state, at most its max age old; one sidecar call for concurrent reads.
        Paced: a running state is not answered again before it is due for a fresh read."""
        entry = self._entries.get(instance_id)
        if entry is not None and self._young(entry):
            self._entries.move_to_end(instance_id)
            if not (paced and entry.state is not None and not entry.state.finished):
                return entry
            await asyncio.sleep(max(0.0, entry.read_at + self.running_max_age - self._clock()))
            return await self.get(instance_id)
        flight = self._flights.get(instance_id)
        if flight is None:
            flight = asyncio.create_task(self._fetch(instance_id))
            self._flights[instance_id] = flight
        # shield: one reader's cancelled request must not cancel the others' shared call
        return await asyncio.shield(flight)

    def remember(self, state: InstanceState) -> Entry:
        """A state read elsewhere (a long poll's answer): kept if it is not older than ours."""
        old = self._entries.get(state.instance_id)
        if old is not None and not _newer(old.state, state):
            return old
        entry = Entry(state, self._render(state), self._clock())
        self._store(state.instance_id, entry)
        return entry

    def forget(self, instance_id: str) -> None:
        """This replica changed the instance (start, event, terminate, purge...): read it afresh.
        A call already in flight still answers its readers, but is not kept."""
        self._entries.pop(instance_id, None)
        self._flights.pop(instance_id, None)

    def _young(self, entry: Entry) -> bool:
        finished = entry.state is not None and entry.state.finished
        max_age = self.finished_max_age if finished else self.running_max_age
        return self._clock() - entry.read_at < max_age

    async def _fetch(self, instance_id: str) -> Entry:
        flight = asyncio.current_task()  # the future readers share, while it is in _flights
        try:
            read_at = self._clock()
            state = await self._read(instance_id)
            entry = Entry(state, self._render(state) if state else b"", read_at)
            old = self._entries.get(instance_id)
            if old is not None and not _newer(old.state, state):
                return old
            if self._flights.get(instance_id) is flight:  # not forgotten meanwhile
                self._store(instance_id, entry)
            return entry
        finally:
            if self._flights.get(instance_id) is flight:
                self._flights.pop(instance_id)

    def _store(self, instance_id: str, entry: Entry) -> None:
        if self.running_max_age <= 0 and self.finished_max_age <= 0:
            return  # caching off: single-flight only
        self._entries[instance_id] = entry
        self._entries.move_to_end(instance_id)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)
