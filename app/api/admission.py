"""Admission control for starts: a rate per caller, a bound on the work the replica's worker
holds, and (off by default) a cap on running instances; else 429.

Counting is in-process and cheap: the replica remembers the instances it started, drops each one
as soon as a status read here sees it end (a client's poll or long poll: no call of its own), and
asks the sidecar about the others now and then (1 s after its start, then at doubling intervals
up to ``admission_recheck_max_seconds``), never by listing the store per request. So the cap bounds
the instances *this replica* started that are not finished: with N replicas, N times the cap,
and a replica that restarts begins counting again from zero. The rate is per replica too.
"""

import asyncio
import contextlib
import logging
import math
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Annotated, Protocol

from fastapi import Depends, Request

from app.api.deps import CallerDep
from app.api.errors import ApiError
from app.config import Settings
from app.sidecar import InstanceState, OutcomeUnknown, SidecarRejected, SidecarUnavailable

log = logging.getLogger("app.admission")
Clock = Callable[[], float]
FIRST_RECHECK_SECONDS = 1.0
RECHECK_CONCURRENCY = 8
MAX_TRACKED_CALLERS = 10_000


class Lookup(Protocol):
    """What counting needs of the sidecar client: one instance's state."""

    async def get(self, instance_id: str) -> InstanceState | None: ...


@dataclass
class _Bucket:
    tokens: float
    stamp: float


class StartRate:
    """A token bucket per caller: `rate` starts a second on average, bursts of `burst`.

    At most MAX_TRACKED_CALLERS buckets are kept, least recently used first out: each start costs
    O(1) however many callers there are. A caller forgotten early gets a full bucket back, which
    only a flood of more than that many distinct callers can bring about.
    """

    def __init__(self, rate: float, burst: int, clock: Clock = time.monotonic) -> None:
        self.rate, self.burst, self.clock = rate, burst, clock
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()

    def take(self, caller: str) -> float:
        """0 when the start may go ahead (a token is taken), else the seconds until one may."""
        if self.rate <= 0:
            return 0.0
        now = self.clock()
        bucket = self._buckets.pop(caller, None) or _Bucket(float(self.burst), now)
        bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.stamp) * self.rate)
        bucket.stamp = now
        self._buckets[caller] = bucket  # the most recently used, at the end
        if len(self._buckets) > MAX_TRACKED_CALLERS:
            self._buckets.popitem(last=False)
        if bucket.tokens < 1:
            return (1 - bucket.tokens) / self.rate
        bucket.tokens -= 1
        return 0.0


@dataclass
class _Tracked:
    next_check: float
    delay: float


class RunningInstances:
    """The instances this replica started and has not yet seen finish, plus starts in progress."""

    def __init__(self, cap: int, recheck_max: float, clock: Clock = time.monotonic) -> None:
        self.cap, self.recheck_max, self.clock = cap, recheck_max, clock
        self._tracked: dict[str, _Tracked] = {}
        self._reserved = 0

    @property
    def count(self) -> int:
        return len(self._tracked) + self._reserved

    @contextlib.contextmanager
    def slot(self) -> Iterator[Callable[[str], None]]:
        """Hold a place for one start; the caller reports the id it started, if any."""
        if self.cap and self.count >= self.cap:
            raise ApiError(
                429,
                "too_many_running",
                f"{self.cap} instances started here are still running; retry later",
                headers={"Retry-After": str(math.ceil(FIRST_RECHECK_SECONDS))},
            )
        self._reserved += 1
        try:
            yield self.add
        except OutcomeUnknown as unknown:  # it may have started: counted until a look says not
            self.add(unknown.instance_id)
            raise
        finally:
            self._reserved -= 1

    def add(self, instance_id: str) -> None:
        if not self.cap:  # no cap, nothing to count
            return
        self._tracked[instance_id] = _Tracked(
            self.clock() + FIRST_RECHECK_SECONDS, FIRST_RECHECK_SECONDS
        )

    def due(self) -> list[str]:
        now = self.clock()
        return [iid for iid, t in self._tracked.items() if t.next_check <= now]

    def still_running(self, instance_id: str) -> None:
        tracked = self._tracked.get(instance_id)
        if tracked:
            tracked.delay = min(tracked.delay * 2, self.recheck_max)
            tracked.next_check = self.clock() + tracked.delay

    def finished(self, instance_id: str) -> None:
        self._tracked.pop(instance_id, None)

    async def recheck(self, client: Lookup) -> None:
        """Ask the sidecar about the instances due a look; forget the finished or purged."""
        gate = asyncio.Semaphore(RECHECK_CONCURRENCY)

        async def one(instance_id: str) -> None:
            async with gate:
                try:
                    state = await client.get(instance_id)
                except (SidecarUnavailable, SidecarRejected) as error:
                    log.debug("recheck of %s deferred: %s", instance_id, error)
                    self.still_running(instance_id)
                    return
            if state is None or state.finished:
                self.finished(instance_id)
            else:
                self.still_running(instance_id)

        await asyncio.gather(*(one(iid) for iid in self.due()))

    async def keep_counting(self, client: Lookup, interval: float = 0.5) -> None:
        """The lifespan's background task: recheck what is due, forever."""
        while True:
            await asyncio.sleep(interval)
            try:
                await self.recheck(client)
            except Exception:  # a recheck must never end the task
                log.exception("admission recheck failed")


class WorkerBacklog:
    """The work this replica's worker holds (workflow steps and activities, running or waiting
    for a slot), read from the worker when a start comes: past `bound`, the start is refused.
    Instances waiting for an event or a timer hold no work item, so they never count."""

    def __init__(self, bound: int) -> None:
        self.bound = bound
        self.pending: Callable[[], int] = lambda: 0  # the lifespan sets the worker's

    def check(self) -> None:
        if not self.bound:
            return
        held = self.pending()
        if held >= self.bound:
            raise ApiError(
                429,
                "worker_busy",
                f"This replica's worker holds {held} work items (its bound is {self.bound}); "
                "retry later",
                headers={"Retry-After": str(math.ceil(FIRST_RECHECK_SECONDS))},
            )


class Admission:
    """What a start must pass: the caller's rate and the worker's backlog here, then the running
    cap (when one is set) inside start()."""

    def __init__(self, settings: Settings, clock: Clock = time.monotonic) -> None:
        self.rate = StartRate(settings.max_starts_per_second, settings.start_burst, clock)
        self.backlog = WorkerBacklog(settings.max_pending_work_items)
        self.running = RunningInstances(
            settings.max_running_instances, settings.admission_recheck_max_seconds, clock
        )

    def check_rate(self, caller: str) -> None:
        wait = self.rate.take(caller)
        if wait:
            raise ApiError(
                429,
                "rate_limited",
                f"More than {self.rate.rate:g} starts a second from this caller; slow down",
                headers={"Retry-After": str(max(1, math.ceil(wait)))},
            )


async def admitted(request: Request, owner: CallerDep) -> RunningInstances:
    """Pass the caller's start rate (by API key owner, else client address); 429 if over."""
    admission: Admission = request.app.state.admission
    client = request.client.host if request.client else "unknown"
    admission.check_rate(f"key:{owner}" if owner is not None else f"address:{client}")
    admission.backlog.check()
    return admission.running


AdmittedDep = Annotated[RunningInstances, Depends(admitted)]
