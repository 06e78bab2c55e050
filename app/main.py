"""The FastAPI app: the lifespan owns the WorkflowRuntime and the one shared workflow client."""

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from functools import partial
from typing import Protocol

from fastapi import FastAPI

from app import metrics, pages
from app.api import errors, health, instances, lifecycle, listing, rerun, start
from app.api.admission import Admission
from app.api.catalogue import CATALOG
from app.api.census import Census
from app.api.limits import BodySizeLimit
from app.api.lookups import status_cache
from app.config import Settings
from app.readiness import Readiness
from app.runtime import build_runtime
from app.security.egress import parse_fixed_names
from app.sidecar import Sidecar, WorkflowClient, sdk
from app.sidecar.cache import StateLookup
from app.telemetry import setup_tracing

log = logging.getLogger("app")


class Worker(Protocol):
    """What the lifespan asks of the workflow worker: wf.WorkflowRuntime, or a stand-in in tests."""

    def start(self) -> None: ...
    def shutdown(self) -> None: ...
    def wait_for_worker_ready(self, timeout: float) -> bool: ...


def _start_runtime(runtime: Worker) -> None:
    """Connect the worker: the SDK's start() returns once daprd's work-item stream is open, which
    is never while the sidecar does not answer; a shutdown ends it."""
    try:
        runtime.start()
    except RuntimeError as error:
        log.warning("workflow worker did not start: %s", error)


async def _stop_runtime(runtime: Worker, starting: asyncio.Task[None]) -> None:
    """Stop the worker, and its start if that is still waiting for the sidecar (a stop that came
    before the start had begun stops nothing: stop again until the start has returned, for at
    most about 20 s)."""
    for _ in range(10):
        await asyncio.to_thread(runtime.shutdown)
        done, _ = await asyncio.wait({starting}, timeout=2.0)
        if done:
            return
    log.warning("the workflow worker's start did not end after its shutdown")


def create_app(
    settings: Settings | None = None,
    runtime_factory: Callable[[Settings], Worker] = build_runtime,
    client_factory: Callable[[Settings], Sidecar] | None = None,
) -> FastAPI:
    settings = settings or Settings()
    logging.basicConfig(
        level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runtime = runtime_factory(settings)
        # In the background: the app serves /healthz and /readyz (worker: false) meanwhile, and
        # a change waits for readiness (app/api/deps.py).
        starting = asyncio.create_task(asyncio.to_thread(_start_runtime, runtime))
        client = (client_factory or _client)(settings)
        app.state.runtime, app.state.client = runtime, client
        app.state.admission.backlog.pending = partial(sdk.pending_work, runtime)
        # an end a poll or a long poll sees frees its place under the running cap at once
        app.state.statuses = status_cache(
            client, settings, on_end=lambda iid: app.state.admission.running.finished(iid)
        )
        app.state.readiness = Readiness(client, runtime)
        # admission's rechecks go through the status cache: a recently polled end costs no call
        lookup = StateLookup(app.state.statuses)
        background = [asyncio.create_task(app.state.admission.running.keep_counting(lookup))]
        if settings.census_seconds:
            census = Census(client, app.state.scans, CATALOG)
            background.append(asyncio.create_task(census.run_forever(settings.census_seconds)))
        try:
            yield
        finally:
            for task in background:
                task.cancel()
            await asyncio.gather(*background, return_exceptions=True)
            await client.close()
            await _stop_runtime(runtime, starting)

    app = FastAPI(
        title="Dapr workflow service",
        version="0.1.0",
        description="Durable workflows on a Dapr sidecar: start one, poll its status_url, "
        "raise events, terminate it. See the README for each workflow.",
        lifespan=lifespan,
        # Served by app.pages with local assets and no inline script.
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.state.settings = settings
    parse_fixed_names(settings.monitor_test_resolve)  # a malformed entry stops the start here
    app.state.admission = Admission(settings)
    app.state.scans = asyncio.Semaphore(listing.MAX_CONCURRENT_SCANS)
    setup_tracing(app)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(metrics.HttpMetrics)
    errors.install(app)
    api = (health, metrics, start, instances, lifecycle, listing, rerun)
    for module in api:
        app.include_router(module.router)
    metrics.zeros([route for module in api for route in module.router.routes], CATALOG)
    pages.install(app, settings)
    return app


def _client(settings: Settings) -> WorkflowClient:
    return WorkflowClient(timeout=settings.sidecar_timeout_seconds)
