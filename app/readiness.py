"""Ready means a start, an event and a timer would all go through now.

One check covers what a request needs: the sidecar reaches the state store, a workflow actor
answers (placement has the actor types and is not rebalancing them: after a sidecar restart it
holds every lookup for seconds), a job can be scheduled and deleted (the scheduler path every
timer and event reminder takes), and the workflow worker's stream is connected. A scheduler that
restarted after a crash answers its health check long before it accepts jobs (it waits until
its previous leadership lease in etcd expires), so a connection flag is not enough.

/readyz answers from a probe started after it was asked (callers that arrive together share one,
and probes start at most every MIN_INTERVAL, so a flood of /readyz writes a job at most four
times a second); mutating requests use an answer up to a second old and wait, bounded, while it
is not ready.
"""

import asyncio
import time
import uuid
from typing import Any

from app.sidecar import Sidecar

# Outside the API's instance id pattern (it starts with "_"): no caller can start this instance,
# so the probe's event is always refused and never reaches a real workflow.
PROBE_ID = "_readyz-probe"
CACHE_SECONDS = 1.0
RETRY_SECONDS = 0.25
MIN_INTERVAL = 0.25


class Readiness:
    def __init__(self, client: Sidecar, runtime: Any) -> None:
        self._client, self._runtime = client, runtime
        self._job = f"readyz-{uuid.uuid4().hex[:12]}"  # one per process: replicas do not collide
        self._lock = asyncio.Lock()
        self._started_at = 0.0
        self._last: dict[str, bool] = {}

    async def check(self, max_age: float = CACHE_SECONDS) -> dict[str, bool]:
        """Each part's readiness from a probe started at most `max_age` seconds ago (a failed
        one is kept RETRY_SECONDS at most); callers arriving together share one probe."""
        asked = time.monotonic()
        async with self._lock:
            if not all(self._last.values()):
                max_age = min(max_age, RETRY_SECONDS)
            if not self._last or self._started_at < asked - max_age:
                await asyncio.sleep(self._started_at + MIN_INTERVAL - time.monotonic())
                self._started_at = time.monotonic()
                self._last = await self._probe()
            return dict(self._last)

    async def fresh(self) -> dict[str, bool]:
        """Each part's readiness from a probe that started after this call."""
        return await self.check(max_age=0)

    async def _probe(self) -> dict[str, bool]:
        sidecar, placement, scheduler, worker = await asyncio.gather(
            self._client.probe_state(PROBE_ID),
            self._client.probe_actors(PROBE_ID),
            self._client.probe_scheduler(self._job),
            asyncio.to_thread(self._runtime.wait_for_worker_ready, 0.01),
        )
        return {
            "sidecar": sidecar,
            "placement": placement,
            "scheduler": scheduler,
            "worker": bool(worker),
        }

    async def wait(self, timeout: float) -> bool:
        """True as soon as everything is ready, False if it is not within `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while not all((await self.check()).values()):
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            await asyncio.sleep(min(RETRY_SECONDS, left))
        return True
