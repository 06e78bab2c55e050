"""Ready means a start, an event and a timer would all go through now.

One check covers what a request needs: the sidecar reaches the state store, the actor runtime
(workflows run as actors) is placed, a job can be scheduled and deleted (the scheduler path every
timer and event reminder takes), and the workflow worker's stream is connected. A scheduler that
restarted after a crash answers its health check long before it accepts jobs (it waits until
its previous leadership lease in etcd expires), so a connection flag is not enough.

The answer is cached briefly so probes stay cheap; mutating requests wait for it, bounded.
"""

import asyncio
import time
import uuid
from typing import Any

from app.sidecar import WorkflowClient

PROBE_ID = "readyz-probe"
CACHE_SECONDS = 1.0
RETRY_SECONDS = 0.25


class Readiness:
    def __init__(self, client: WorkflowClient, runtime: Any) -> None:
        self._client, self._runtime = client, runtime
        self._job = f"readyz-{uuid.uuid4().hex[:12]}"  # one per process: replicas do not collide
        self._lock = asyncio.Lock()
        self._checked_at = 0.0
        self._last: dict[str, bool] = {}

    async def check(self) -> dict[str, bool]:
        """Each part's readiness; a recent answer is reused, concurrent callers share one."""
        async with self._lock:
            ttl = CACHE_SECONDS if all(self._last.values()) else RETRY_SECONDS
            if not self._last or time.monotonic() - self._checked_at >= ttl:
                self._last = await self._probe()
                self._checked_at = time.monotonic()
            return dict(self._last)

    async def _probe(self) -> dict[str, bool]:
        sidecar, placement, scheduler, worker = await asyncio.gather(
            self._client.probe_state(PROBE_ID),
            self._client.probe_placement(),
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
