"""The dashboard's pages: instances, one instance with its timeline, and a start form.

Read through the public API's own handlers (the same answers and errors as over HTTP); the
actions on the pages call the public API from the browser, with the API key as a header.
"""

import json
import re
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import HTMLResponse
from fastapi.routing import APIRoute
from fastapi.templating import Jinja2Templates

from app.api import instances, listing, lookups
from app.api.catalogue import CATALOG
from app.api.deps import ClientDep, StatusesDep
from app.api.errors import ApiError, not_found
from app.api.models import INSTANCE_ID_PATTERN, KNOWN_EVENTS, RUNTIME_STATUSES, WorkflowStatus
from app.api.rerun import RERUNNABLE
from app.pages import charts, timeline
from app.pages.docs import service_origin, with_origin
from app.pages.event_forms import event_forms
from app.sidecar import TERMINAL, SidecarUnavailable
from app.workflows.custom_status import DONE, TOTAL, WAITING_FOR

PAGE_SIZE = 25
# Instances one list page reads at most; the page says so when the store holds more.
SCAN_LIMIT = 2000


def _time(text: str | None) -> datetime | None:
    """A datetime-local field's value (no zone: UTC, as the page says), or None when empty."""
    if not text:
        return None
    try:
        return listing.as_utc(datetime.fromisoformat(text))
    except ValueError:
        raise ApiError(422, "invalid_request", f"Not a date and time: {text!r}") from None


def _pretty(value: Any) -> str:
    return "" if value is None else json.dumps(value, indent=2, sort_keys=True)


def progress(status: WorkflowStatus) -> tuple[int, int] | None:
    """(done, total) from a custom status that reports them, as fan_out_fan_in's does."""
    custom = status.custom_status
    if isinstance(custom, dict) and isinstance(custom.get(TOTAL), int):
        done = custom.get(DONE)
        if isinstance(done, int) and custom[TOTAL] > 0:
            return done, custom[TOTAL]
    return None


def waiting_for(status: WorkflowStatus) -> str | None:
    custom = status.custom_status
    if status.runtime_status not in TERMINAL and isinstance(custom, dict):
        waiting = custom.get(WAITING_FOR)
        return waiting if isinstance(waiting, str) else None
    return None


def _html_errors(templates: Jinja2Templates) -> type[APIRoute]:
    """Routes whose errors are pages: a person gets a sentence, not the API's JSON."""

    class PageRoute(APIRoute):
        def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
            handler = super().get_route_handler()

            async def handle(request: Request) -> Response:
                try:
                    return await handler(request)
                except SidecarUnavailable:
                    status, message = 503, "The Dapr sidecar is not reachable; retry shortly."
                except ApiError as error:
                    status, message = error.status, error.message
                context = {"status_code": status, "message": message, "keys_required": False}
                return templates.TemplateResponse(
                    request, "pages/problem.html", context, status_code=status
                )

            return handle

    return PageRoute


def build_router(templates: Jinja2Templates) -> APIRouter:
    router = APIRouter(include_in_schema=False, route_class=_html_errors(templates))
    templates.env.globals.update(
        pretty=_pretty, compact=json.dumps, progress=progress, waiting_for=waiting_for
    )

    def page(request: Request, name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
        keys_required = bool(request.app.state.settings.api_key_owners())
        return templates.TemplateResponse(
            request,
            name,
            {"keys_required": keys_required, "statuses": RUNTIME_STATUSES, **context},
            status_code=status_code,
        )

    @router.get("/", response_class=HTMLResponse)
    async def instance_list(
        request: Request,
        client: ClientDep,
        scans: listing.ScanGateDep,
        workflow: Annotated[str, Query(max_length=128)] = "",
        status: Annotated[str, Query(max_length=32)] = "",
        created_after: Annotated[str, Query(max_length=40)] = "",
        created_before: Annotated[str, Query(max_length=40)] = "",
        page_number: Annotated[int, Query(alias="page", ge=1, le=10_000)] = 1,
    ) -> HTMLResponse:
        filters = listing.Filters(
            workflow or None, None, _time(created_after), _time(created_before)
        )
        async with scans:
            found, more = await listing.find_instances(
                client, filters, SCAN_LIMIT, None, SCAN_LIMIT
            )
        counts = {s: 0 for s in RUNTIME_STATUSES}
        for state in found:
            counts[state.runtime_status] = counts.get(state.runtime_status, 0) + 1
        shown = [s for s in found if not status or s.runtime_status == status]
        shown.sort(key=lambda s: s.created_at or datetime.min.replace(tzinfo=UTC), reverse=True)
        pages = max(1, -(-len(shown) // PAGE_SIZE))
        start = (page_number - 1) * PAGE_SIZE
        # Progress and waiting come from the custom status: only the rows shown are read whole.
        rows = await listing.with_payloads(client, shown[start : start + PAGE_SIZE])
        query = {
            "workflow": workflow,
            "status": status,
            "created_after": created_after,
            "created_before": created_before,
        }
        return page(
            request,
            "pages/list.html",
            instances=[WorkflowStatus(**s.__dict__) for s in rows],
            total=len(shown),
            counts=counts,
            query=query,
            page_number=page_number,
            pages=pages,
            truncated=more is not None,
            scan_limit=SCAN_LIMIT,
            workflows=list(CATALOG),
            last_hour=charts.last_hour(list(CATALOG)),
        )

    async def _instance(instance_id: str, client: ClientDep, statuses: StatusesDep) -> Any:
        status = await lookups.current_status(instance_id, statuses)
        history = await instances.history(instance_id, client)
        events = [e.model_dump() for e in history.events]
        now = None if status.runtime_status in TERMINAL else datetime.now(UTC)
        drawn = timeline.build(events, now)
        return {
            "status": status,
            "events": events,
            "timeline": drawn,
            "bars": timeline.draw(drawn),
            "geometry": timeline,
            "rerunnable": [e for e in events if e["kind"] in RERUNNABLE],
            "finished": status.runtime_status in TERMINAL,
            "known_events": KNOWN_EVENTS.get(status.workflow, ()),
            "event_forms": event_forms(
                status.workflow, status.custom_status, status.runtime_status in TERMINAL
            ),
        }

    @router.get("/instances/{instance_id}", response_class=HTMLResponse)
    async def instance_page(
        request: Request, instance_id: str, client: ClientDep, statuses: StatusesDep
    ) -> HTMLResponse:
        if not re.fullmatch(INSTANCE_ID_PATTERN, instance_id):
            raise not_found(instance_id)
        return page(
            request, "pages/instance.html", **await _instance(instance_id, client, statuses)
        )

    @router.get("/instances/{instance_id}/live", response_class=HTMLResponse)
    async def instance_live(
        request: Request, instance_id: str, client: ClientDep, statuses: StatusesDep
    ) -> HTMLResponse:
        """The part of the instance page that changes while it runs, for the page's script."""
        context = await _instance(instance_id, client, statuses)
        return page(request, "pages/_live.html", **context)

    @router.get("/start", response_class=HTMLResponse)
    async def start_form(
        request: Request, workflow: Annotated[str, Query(max_length=128)] = ""
    ) -> HTMLResponse:
        chosen = workflow if workflow in CATALOG else next(iter(CATALOG))
        origin = service_origin(request)
        examples = {
            name: json.dumps(with_origin(spec.example, origin), indent=2)
            for name, spec in CATALOG.items()
        }
        summaries = {name: spec.summary for name, spec in CATALOG.items()}
        return page(
            request,
            "pages/start.html",
            chosen=chosen,
            examples=examples,
            summaries=summaries,
        )

    return router
