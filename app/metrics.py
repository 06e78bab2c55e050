"""The app's metrics at /metrics, in Prometheus' text format (the official client).

Labels are bounded sets: route templates, methods and codes; workflow, event and operation names
the service declares (anything else is "other"); error codes. Never an instance id or free text.
Counters are per process: Prometheus sums them across replicas and restarts (`rate`, `increase`).
"""

import asyncio
import threading
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from fastapi import APIRouter, Request, Response
from prometheus_client import (
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4

# no `_created` series beside each counter: half the lines to scrape
disable_created_metrics()  # type: ignore[no-untyped-call]
OTHER = "other"
ENDED = ("COMPLETED", "FAILED", "TERMINATED")  # the final statuses workflow_ends_total counts
METHODS = frozenset({"DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT"})

HTTP_REQUESTS = Counter(
    "http_requests_total", "HTTP requests answered", ["method", "route", "code"]
)
HTTP_DURATION = Histogram(
    "http_request_duration_seconds", "Time to answer an HTTP request", ["method", "route"]
)
STARTS = Counter(
    "workflow_starts_total", "Instances started through this replica's API", ["workflow"]
)
ENDS = Counter(
    "workflow_ends_total",
    "Instances this replica's worker ended, by final status (a continue-as-new is no end)",
    ["workflow", "status"],
)
EVENTS = Counter(
    "workflow_events_raised_total", "Events raised through the API", ["workflow", "event"]
)
REFUSALS = Counter(
    "workflow_refusals_total",
    "Requests refused with 429 or 503 (nothing was done), by the error code answered",
    ["code", "reason"],
)
SIDECAR_DURATION = Histogram(
    "workflow_sidecar_call_duration_seconds",
    "Time the sidecar took to answer a call of the workflow API, retries apart",
    ["operation"],
)
SIDECAR_ERRORS = Counter(
    "workflow_sidecar_call_errors_total",
    "Calls to the sidecar's workflow API that failed, by how the service read the failure",
    ["operation", "error"],
)
STATUS_READS = Counter(
    "workflow_status_reads_total",
    "Instance states the status cache took from the sidecar: a read, or an end a completion watch "
    "saw (a status answered from the cache costs none)",
    ["kind"],
)
READY = Gauge(
    "workflow_ready", "1 when the part a request needs answers now (as /readyz)", ["part"]
)
PENDING_WORK = Gauge(
    "workflow_worker_pending_work_items",
    "Workflow steps and activities this replica's worker holds, running or queued",
)
UNFINISHED = Gauge(
    "workflow_instances_unfinished",
    "Unfinished instances in the store at the last census, by workflow and runtime status",
    ["workflow", "status"],
)
OLDEST_UNCHANGED = Gauge(
    "workflow_oldest_unchanged_timestamp_seconds",
    "When the unfinished instance longest without a change last changed, at the last census",
    ["workflow"],
)
EARLIEST_DEADLINE = Gauge(
    "workflow_earliest_deadline_timestamp_seconds",
    "The earliest deadline of an instance waiting for an event with one (a purchase approval's "
    "decision), at the last census",
    ["workflow"],
)
CENSUS_TAKEN = Gauge("workflow_census_timestamp_seconds", "When the last census ended")
CENSUS_DURATION = Gauge("workflow_census_duration_seconds", "How long the last census took")


def zeros(routes: Any, workflows: Any) -> None:
    """The series an alert watches grow from 0: `increase()` needs a sample before the first
    count, so a 500 on each API route and each workflow's ends exist at 0 from the start."""
    for route in routes:
        for method in getattr(route, "methods", None) or ():
            HTTP_REQUESTS.labels(bounded(method, METHODS), route.path, "500")
    for workflow in workflows:
        for status in ENDED:
            ENDS.labels(workflow, status)


def census(
    unfinished: dict[tuple[str, str], int],
    oldest: dict[str, float],
    deadlines: dict[str, float],
    seconds: float,
) -> None:
    """A census's figures, replacing the last one's (label sets no longer seen go)."""
    UNFINISHED.clear()
    for (workflow, status), count in unfinished.items():
        UNFINISHED.labels(workflow, status).set(count)
    for gauge, by_workflow in ((OLDEST_UNCHANGED, oldest), (EARLIEST_DEADLINE, deadlines)):
        gauge.clear()
        for workflow, timestamp in by_workflow.items():
            gauge.labels(workflow).set(timestamp)
    CENSUS_TAKEN.set_to_current_time()
    CENSUS_DURATION.set(seconds)


class LastHour:
    """What this process counted in each of the last `minutes` minutes, by key: the dashboard's
    charts. Thread-safe (the worker counts ends from its own threads); minutes past are dropped."""

    def __init__(self, minutes: int = 60, clock: Callable[[], float] = time.time) -> None:
        self.minutes, self._clock = minutes, clock
        self._lock = threading.Lock()
        self._counts: dict[tuple[str, ...], dict[int, int]] = {}

    def add(self, *key: str) -> None:
        now = int(self._clock() // 60)
        with self._lock:
            counts = self._counts.setdefault(key, {})
            counts[now] = counts.get(now, 0) + 1
            for minute in [m for m in counts if m <= now - self.minutes]:
                del counts[minute]

    def series(self, *key: str) -> list[int]:
        """The key's counts, minute by minute, the oldest first and this minute last."""
        now = int(self._clock() // 60)
        with self._lock:
            counts = dict(self._counts.get(key, {}))
        return [counts.get(minute, 0) for minute in range(now - self.minutes + 1, now + 1)]

    def keys(self, kind: str) -> list[tuple[str, ...]]:
        """The keys of one kind ("started", "ended", "refused") counted in the last hour."""
        since = int(self._clock() // 60) - self.minutes
        with self._lock:
            return sorted(
                key[1:]
                for key, counts in self._counts.items()
                if key[0] == kind and any(minute > since for minute in counts)
            )


LAST_HOUR = LastHour()


def started(workflow: str) -> None:
    STARTS.labels(workflow).inc()
    LAST_HOUR.add("started", workflow)


def ended(workflow: str, status: str) -> None:
    ENDS.labels(workflow, status).inc()
    LAST_HOUR.add("ended", workflow, status)


def refused(code: int, reason: str) -> None:
    REFUSALS.labels(str(code), reason).inc()
    LAST_HOUR.add("refused", reason)


router = APIRouter(tags=["health"])


@router.get("/metrics", response_class=Response, include_in_schema=False)
async def metrics(request: Request) -> Response:
    """Every series, with readiness from a probe at most a second old (shared with /readyz)."""
    state = request.app.state
    for part, ok in (await state.readiness.check()).items():
        READY.labels(part).set(int(ok))
    PENDING_WORK.set(state.admission.backlog.pending())
    # the text format every Prometheus reads (the series' names need nothing newer)
    return Response(generate_latest(), media_type=CONTENT_TYPE_PLAIN_0_0_4)


def bounded(name: str, known: Any) -> str:
    """A name as a label: itself when the service declares it, else "other"."""
    return name if name in known else OTHER


Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


class HttpMetrics:
    """Counts and times each HTTP request by its route's template once the router has matched it
    (a mount's path for static files, "other" for no route); a request dropped before its answer
    (the client gone, a shutdown) is not counted."""

    def __init__(self, app: Callable[[Scope, Receive, Send], Awaitable[None]]) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started, code = time.perf_counter(), 500

        async def sending(message: MutableMapping[str, Any]) -> None:
            nonlocal code
            if message["type"] == "http.response.start":
                code = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        except asyncio.CancelledError:
            raise
        except BaseException:
            self._count(scope, started, 500)
            raise
        self._count(scope, started, code)

    @staticmethod
    def _count(scope: Scope, started: float, code: int) -> None:
        route = getattr(scope.get("route"), "path", OTHER)
        method = bounded(scope["method"], METHODS)
        HTTP_REQUESTS.labels(method, route, str(code)).inc()
        HTTP_DURATION.labels(method, route).observe(time.perf_counter() - started)
