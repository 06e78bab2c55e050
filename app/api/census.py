"""A census of the store's unfinished instances, for /metrics: every APP_CENSUS_SECONDS in the
background, never per scrape. How many are unfinished, per workflow and runtime status, and when
the one that has gone longest without a change last changed (an approval waiting for its human,
or an instance stuck): `time() - workflow_oldest_unchanged_timestamp_seconds` is how long; and
the earliest deadline of an instance waiting for an event with one (its custom status's
`deadline`, as a purchase approval's).

It reads each instance's state once, with its custom status, a store page at a time and under the
same bound as the API's listings (listing.py's scan gate), so it costs the sidecar what a walk
through `GET /workflows` costs, plus each instance's payloads. Every replica takes its own: the
series agree across replicas, query them with max().
"""

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Collection
from datetime import UTC, datetime

from app import metrics
from app.api.listing import STORE_PAGE, Filters, find_instances
from app.sidecar import (
    InstanceState,
    OutcomeUnknown,
    Sidecar,
    SidecarRejected,
    SidecarUnavailable,
)
from app.workflows.custom_status import DEADLINE, WAITING_FOR

log = logging.getLogger("app.census")
FIRST_AFTER_SECONDS = 10.0  # the first census, once the worker and the sidecar are likely up


def _deadline(state: InstanceState) -> float | None:
    """When the event a running instance waits for stops being waited for, if it says so."""
    status = state.custom_status
    if state.runtime_status != "RUNNING" or not isinstance(status, dict):
        return None
    if not status.get(WAITING_FOR) or not isinstance(status.get(DEADLINE), str):
        return None
    try:
        due = datetime.fromisoformat(status[DEADLINE])
    except ValueError:
        return None
    return due.replace(tzinfo=due.tzinfo or UTC).timestamp()


class Census:
    def __init__(
        self, client: Sidecar, scans: asyncio.Semaphore, workflows: Collection[str]
    ) -> None:
        self._client, self._scans, self._workflows = client, scans, workflows

    async def take(self) -> int:
        """Count the store's unfinished instances and publish the figures; returns how many."""
        started = time.monotonic()
        unfinished: Counter[tuple[str, str]] = Counter()
        oldest: dict[str, float] = {}
        deadlines: dict[str, float] = {}
        token: str | None = None
        while True:
            async with self._scans:
                states, token = await find_instances(
                    self._client, Filters(), STORE_PAGE, token, STORE_PAGE, payloads=True
                )
            for state in states:
                if state.finished:
                    continue
                workflow = metrics.bounded(state.workflow, self._workflows)
                unfinished[workflow, state.runtime_status] += 1
                # a paused instance waits for a person by design: no stuck one
                if state.last_updated_at is not None and state.runtime_status != "SUSPENDED":
                    changed = state.last_updated_at.timestamp()
                    oldest[workflow] = min(oldest.get(workflow, changed), changed)
                if (due := _deadline(state)) is not None:
                    deadlines[workflow] = min(deadlines.get(workflow, due), due)
            if token is None:
                break
        metrics.census(unfinished, oldest, deadlines, time.monotonic() - started)
        return sum(unfinished.values())

    async def run_forever(self, every: float) -> None:
        await asyncio.sleep(min(FIRST_AFTER_SECONDS, every))
        while True:
            try:
                await self.take()
            except (SidecarUnavailable, SidecarRejected, OutcomeUnknown) as error:
                log.warning("census of unfinished instances not taken: %s", error)
            except Exception:
                log.exception("census of unfinished instances not taken")
            await asyncio.sleep(every)
