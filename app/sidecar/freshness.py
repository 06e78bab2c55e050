"""How long a state read from the sidecar may be served, and which of two states is the newer:
the status cache's policy as plain data and functions (app/sidecar/cache.py does the rest).

A running instance's state serves for up to ``running_max_age`` seconds (the staleness bound: a
step shows within it); each fresh read that finds it unchanged doubles that, up to
``idle_max_age`` (an instance waiting for an event or a timer costs a read per at most
``idle_max_age``, and its first step after the wait shows within that), and a change resets it.
A doubled bound is served less a random part of up to half, so that instances started together
(a batch of approvals) spread their reads instead of reading all at once. A finished one
(COMPLETED, FAILED, TERMINATED: immutable until purged) serves for up to ``finished_max_age``
seconds, which bounds how long a purge or a rerun through another replica can go unseen.
"""

from collections.abc import Callable
from dataclasses import dataclass

from app.sidecar.convert import InstanceState


@dataclass(frozen=True)
class Entry:
    state: InstanceState | None  # None: the sidecar knows no such instance
    body: bytes  # what the API answers with; empty when there is no state
    read_at: float
    max_age: float  # served for this long after read_at
    step: float  # the bound it was served under, before the spread: the next one doubles it


def same(old: InstanceState, new: InstanceState) -> bool:
    """The same update of the same run: nothing changed between two reads."""
    return (old.created_at, old.last_updated_at, old.runtime_status) == (
        new.created_at,
        new.last_updated_at,
        new.runtime_status,
    )


def newer(old: InstanceState | None, new: InstanceState | None) -> bool:
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


@dataclass(frozen=True)
class Freshness:
    """A running state serves `running_max_age`, doubled at each read that finds it unchanged up
    to `idle_max_age` and served less a random part of up to half a doubled bound (`spread`, in
    [0, 1)); a finished one `finished_max_age`; an unknown instance `running_max_age`."""

    running_max_age: float
    finished_max_age: float
    idle_max_age: float
    spread: Callable[[], float]

    def young(self, entry: Entry, now: float) -> bool:
        return now - entry.read_at < entry.max_age

    def entry(
        self, state: InstanceState | None, body: bytes, read_at: float, old: Entry | None
    ) -> Entry:
        """The entry for a state just read: how long it may be served follows from `old`."""
        if state is None:
            return Entry(None, b"", read_at, self.running_max_age, self.running_max_age)
        if state.finished:
            return Entry(state, body, read_at, self.finished_max_age, self.finished_max_age)
        step = self.running_max_age
        if old is not None and old.state is not None and same(old.state, state):
            step = min(max(old.step * 2, step), self.idle_max_age)
        max_age = step
        if step > self.running_max_age:  # backed off: spread over [step / 2, step]
            max_age = step * (1 - self.spread() / 2)
        return Entry(state, body, read_at, max_age, step)
