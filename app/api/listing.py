"""GET /workflows: the instances the state store knows, filtered, a page at a time."""

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BeforeValidator

from app.api.deps import ClientDep
from app.api.errors import ApiError
from app.api.models import InstanceList, RuntimeStatus, WorkflowStatus
from app.api.responses import error_responses
from app.sidecar import InstanceState, Sidecar

router = APIRouter(tags=["instances"])
# Ids one request reads from the store at most; a sparse filter answers with fewer matches and a
# continuation token rather than reading the whole store in one request.
MAX_SCAN = 1000
# Ids asked of the store at once, each then read: bounds the burst of reads one request makes.
STORE_PAGE = 100
# Scans one replica runs at once; more wait their turn. Each reads up to MAX_SCAN (the dashboard's
# up to 2000) instances, so unauthenticated reads cannot multiply the sidecar's load at will.
MAX_CONCURRENT_SCANS = 4


async def scan_gate(request: Request) -> asyncio.Semaphore:
    gate: asyncio.Semaphore = request.app.state.scans
    return gate


ScanGateDep = Annotated[asyncio.Semaphore, Depends(scan_gate)]


@dataclass(frozen=True)
class Filters:
    workflow: str | None = None
    status: str | None = None
    created_after: datetime | None = None
    created_before: datetime | None = None

    def match(self, state: InstanceState) -> bool:
        created = state.created_at or datetime.min.replace(tzinfo=UTC)
        return (
            self.workflow in (None, state.workflow)
            and self.status in (None, state.runtime_status)
            and (self.created_after is None or created >= self.created_after)
            and (self.created_before is None or created < self.created_before)
        )


def _iso_only(value: Any) -> Any:
    """A date or time as ISO 8601 text; a bare number (which pydantic reads as a Unix time) is
    refused, as `created_before=0.5` is far more likely a mistake than 1970."""
    try:
        float(value)
    except (TypeError, ValueError):
        return value
    raise ValueError("an ISO 8601 date or time is expected, such as 2026-01-31T12:00:00Z")


IsoTime = Annotated[datetime, BeforeValidator(_iso_only)]


def as_utc(value: datetime | None) -> datetime | None:
    """A time without a zone is taken as UTC, as the API's own times are."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


async def find_instances(
    client: Sidecar,
    filters: Filters,
    page_size: int,
    token: str | None,
    max_scan: int = MAX_SCAN,
    *,
    payloads: bool = False,
) -> tuple[list[InstanceState], str | None]:
    """Up to page_size matching instances, without their payloads unless asked (the filters
    need only the status, name and times), and where to continue (None at the end).

    Each store page asked for is no larger than what is still missing, so no match is skipped
    between one answer's last instance and the continuation token it returns.
    """
    found: list[InstanceState] = []
    scanned = 0
    while len(found) < page_size and scanned < max_scan:
        want = min(page_size - len(found), max_scan - scanned, STORE_PAGE)
        ids, token = await client.list_ids(want, token)
        scanned += len(ids)
        states = await asyncio.gather(*(client.get(i, payloads=payloads) for i in ids))
        found.extend(s for s in states if s is not None and filters.match(s))
        if token is None:
            break
    return found, token


async def with_payloads(client: Sidecar, states: list[InstanceState]) -> list[InstanceState]:
    """The same instances read whole (one purged meanwhile is left out)."""
    whole = await asyncio.gather(*(client.get(s.instance_id) for s in states))
    return [s for s in whole if s is not None]


@router.get("/workflows", response_model=InstanceList, responses=error_responses())
async def list_workflows(
    client: ClientDep,
    scans: ScanGateDep,
    page_size: Annotated[int, Query(ge=1, le=500)] = 50,
    continuation_token: Annotated[str | None, Query(max_length=1024)] = None,
    workflow: Annotated[
        str | None, Query(max_length=128, description="Only this workflow's instances")
    ] = None,
    status: Annotated[RuntimeStatus | None, Query(description="Only this runtime_status")] = None,
    created_after: Annotated[
        IsoTime | None, Query(description="Created at or after (ISO 8601; UTC if no zone)")
    ] = None,
    created_before: Annotated[
        IsoTime | None, Query(description="Created before (ISO 8601)")
    ] = None,
) -> InstanceList:
    """The instances the state store knows, a page at a time, optionally filtered.

    With filters a page may hold fewer than page_size: go on while continuation_token is set.
    """
    after, before = as_utc(created_after), as_utc(created_before)
    if after and before and after >= before:
        raise ApiError(422, "invalid_request", "created_after must be before created_before")
    filters = Filters(workflow, status, after, before)
    async with scans:
        found, token = await find_instances(client, filters, page_size, continuation_token)
        states = await with_payloads(client, found)
    return InstanceList(
        instances=[WorkflowStatus(**s.__dict__) for s in states], continuation_token=token
    )
