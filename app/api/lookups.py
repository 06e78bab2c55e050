"""What the routers and the pages share: an instance looked up or refused, a status as the API
answers it, the 202 of a change."""

from fastapi import Response

from app.api.errors import ApiError, not_found
from app.api.models import Accepted, WorkflowStatus, accepted_headers
from app.config import Settings
from app.sidecar import InstanceState, Sidecar
from app.sidecar.cache import OnEnd, StatusCache


def status(state: InstanceState) -> WorkflowStatus:
    return WorkflowStatus(**state.__dict__)


def status_json(state: InstanceState) -> bytes:
    return status(state).model_dump_json().encode()


def status_cache(client: Sidecar, settings: Settings, on_end: OnEnd | None = None) -> StatusCache:
    """The statuses /status serves, read through the app's one client (app/sidecar/cache.py);
    `on_end` learns of each end they see."""
    return StatusCache(
        client.get,
        status_json,
        running_max_age=settings.status_max_age_seconds,
        finished_max_age=settings.finished_status_max_age_seconds,
        idle_max_age=settings.idle_status_max_age_seconds,
        max_entries=settings.status_cache_entries,
        wait=client.wait,
        on_end=on_end,
    )


async def existing(client: Sidecar, instance_id: str) -> InstanceState:
    """The instance's state, or 404."""
    state = await client.get(instance_id)
    if state is None:
        raise not_found(instance_id)
    return state


async def unfinished(client: Sidecar, instance_id: str, action: str) -> InstanceState:
    state = await existing(client, instance_id)
    if state.finished:
        raise ApiError(
            409,
            "already_finished",
            f"Cannot {action}: instance {instance_id!r} is {state.runtime_status}",
        )
    return state


def still_running(state: InstanceState, what_to_do: str) -> ApiError:
    """409 for an action only a finished instance allows."""
    return ApiError(
        409,
        "still_running",
        f"Instance {state.instance_id!r} is {state.runtime_status}; {what_to_do}",
    )


def accepted(instance_id: str, message: str, response: Response, settings: Settings) -> Accepted:
    response.headers.update(accepted_headers(instance_id, settings))
    return Accepted(instance_id=instance_id, status_url=f"/status/{instance_id}", message=message)


async def current_status(instance_id: str, statuses: StatusCache) -> WorkflowStatus:
    """The status GET /status answers with, as a model (the pages show it); 404 when unknown."""
    entry = await statuses.get(instance_id)
    if entry.state is None:
        raise not_found(instance_id)
    return status(entry.state)
