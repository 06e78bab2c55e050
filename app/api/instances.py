"""Instances: status (long poll too), events, purge and history."""

from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Response
from pydantic import BaseModel, ValidationError

from app import metrics
from app.api.catalogue import CATALOG, EVENT_EXAMPLES
from app.api.deps import ChangerDep, ClientDep, SettingsDep, StatusesDep
from app.api.errors import ApiError, field_errors, invalid_event, not_found
from app.api.lookups import accepted, existing, still_running, unfinished
from app.api.models import (
    Accepted,
    EventNamePath,
    History,
    InstanceIdPath,
    Payload,
    WorkflowStatus,
)
from app.api.responses import error_responses
from app.sidecar.cache import Entry, StatusCache
from app.workflows.events import SignedEvent

router = APIRouter(tags=["instances"])
MAX_WAIT_SECONDS = 30


async def _waited(statuses: StatusCache, instance_id: str, wait: float) -> Entry:
    """The long poll: the state once finished, else after `wait` seconds a fresh read."""
    return await statuses.waited(instance_id, wait) or await statuses.get(instance_id)


@router.get("/status/{instance_id}", response_model=WorkflowStatus, responses=error_responses(404))
async def get_status(
    instance_id: InstanceIdPath,
    statuses: StatusesDep,
    settings: SettingsDep,
    wait: Annotated[
        float,
        Query(ge=0, le=MAX_WAIT_SECONDS, description="Long poll: wait up to this long for the end"),
    ] = 0,
) -> Response:
    """The instance's status, input, output, custom status and failure. A running instance's
    status is at most APP_STATUS_MAX_AGE_SECONDS old (1 s by default), up to
    APP_IDLE_STATUS_MAX_AGE_SECONDS (5 s) while it waits unchanged; its end shows as soon as it
    is stored. Polled faster than that (a start through this replica counts as an answer), the
    answer waits for a fresh read or the end. Or long-poll with ?wait=."""
    if wait and statuses.may_be_running(instance_id):  # no read first: the wait answers
        entry = await _waited(statuses, instance_id, wait)
    else:
        entry = await statuses.get(instance_id, paced=not wait)
        if wait and entry.state is not None and not entry.state.finished:
            entry = await _waited(statuses, instance_id, wait)
    if entry.state is None:
        raise not_found(instance_id)
    headers = {} if entry.state.finished else {"Retry-After": str(settings.retry_after_seconds)}
    # The JSON was rendered once when the state was read; polls of it send the same bytes.
    return Response(entry.body, media_type="application/json", headers=headers)


@router.post(
    "/workflows/{instance_id}/events/{event_name}",
    status_code=202,
    response_model=Accepted,
    responses=error_responses(401, 504, 404, 409, 415),
)
async def raise_event(
    instance_id: InstanceIdPath,
    event_name: EventNamePath,
    client: ClientDep,
    settings: SettingsDep,
    response: Response,
    statuses: StatusesDep,
    who: ChangerDep,
    payload: Annotated[Payload, Body(openapi_examples=EVENT_EXAMPLES)] = None,
) -> Accepted:
    """Raise an event on a running instance (for example approval_received); JSON body."""
    if isinstance(payload, bytes):  # a body sent as something other than JSON
        raise ApiError(
            415,
            "unsupported_media_type",
            "Send the event's payload as JSON (Content-Type: application/json)",
        )
    state = await unfinished(client, instance_id, "raise an event")
    spec = CATALOG.get(state.workflow)
    model = spec.event(event_name) if spec else None
    if model is not None:
        payload = _declared_event(model, event_name, payload, who)
    try:
        await client.raise_event(instance_id, event_name, payload)
    finally:
        statuses.forget(instance_id)
    declared = event_name.casefold() if model is not None else metrics.OTHER
    metrics.EVENTS.labels(metrics.bounded(state.workflow, CATALOG), declared).inc()
    return accepted(instance_id, f"Event {event_name!r} raised", response, settings)


def _declared_event(
    model: type[BaseModel], event_name: str, payload: Any, who: str | None
) -> dict[str, Any]:
    """A payload the workflow can read, stamped with the API key's owner when keys are on."""
    try:
        event = model.model_validate(payload)
    except ValidationError as error:
        raise invalid_event(event_name, field_errors(error.errors(), "body")) from None
    if isinstance(event, SignedEvent):
        event.authorized_by = who  # only the service may say who was authenticated
    return event.model_dump(mode="json")


@router.delete(
    "/workflows/{instance_id}", status_code=204, responses=error_responses(401, 504, 404, 409)
)
async def purge(
    instance_id: InstanceIdPath, client: ClientDep, statuses: StatusesDep, _: ChangerDep
) -> Response:
    """Delete a finished instance's state and history."""
    state = await existing(client, instance_id)
    if not state.finished:
        raise still_running(state, "terminate it first")
    try:
        await client.purge(instance_id)
    finally:
        statuses.forget(instance_id)
    return Response(status_code=204)


@router.get(
    "/workflows/{instance_id}/history", response_model=History, responses=error_responses(404)
)
async def history(instance_id: InstanceIdPath, client: ClientDep) -> History:
    """The instance's history events in order: what ran, when, with what result."""
    await existing(client, instance_id)
    events = await client.history(instance_id)
    return History.model_validate({"instance_id": instance_id, "events": events})
