"""What the routers and the pages share: an instance looked up or refused, a status as the API
answers it, the 202 of a change."""

from collections import OrderedDict
from dataclasses import replace
from datetime import datetime

from fastapi import Response

from app import metrics
from app.api.catalogue import CATALOG
from app.api.errors import ApiError, not_found
from app.api.models import Accepted, WorkflowStatus, accepted_headers
from app.config import Settings
from app.sidecar import InstanceState, Sidecar
from app.sidecar.cache import OnEnd, StatusCache
from app.sidecar.convert import code_of
from app.sidecar.errors import InstanceNotFound

Code = tuple[str | None, tuple[str, ...]]


def status(state: InstanceState) -> WorkflowStatus:
    return WorkflowStatus(**state.__dict__)


def status_json(state: InstanceState) -> bytes:
    return status(state).model_dump_json().encode()


class WithCode:
    """Reads an instance's state with the code it runs (version, patches: code_of), from its
    history: only for a workflow with versions or patches, and again only when the instance has
    moved since this replica last read it (an instance polled while it waits costs one)."""

    def __init__(self, client: Sidecar, max_entries: int) -> None:
        self._client, self._max_entries = client, max_entries
        # Workflows whose instances may run different code; the others' have no history read.
        self._varies = {name for name, declared in CATALOG.items() if declared.code_varies}
        self._known: OrderedDict[str, tuple[datetime | None, Code]] = OrderedDict()

    async def __call__(self, instance_id: str) -> InstanceState | None:
        state = await self._client.get(instance_id)
        metrics.STATUS_READS.labels("read").inc()
        return await self._with_code(instance_id, state)

    async def wait(self, instance_id: str, timeout: float) -> InstanceState | None:
        """The sidecar's wait for the end (Sidecar.wait), the end with its code."""
        state = await self._client.wait(instance_id, timeout)
        if state is None:
            return None
        metrics.STATUS_READS.labels("wait").inc()
        return await self._with_code(instance_id, state)

    async def _with_code(
        self, instance_id: str, state: InstanceState | None
    ) -> InstanceState | None:
        if state is None:
            self._known.pop(instance_id, None)
            return None
        if state.workflow not in self._varies:
            return state
        known = self._known.get(instance_id)
        if known is not None and known[0] == state.last_updated_at:
            code = known[1]
        else:
            try:
                code = code_of(await self._client.history(instance_id))
            except InstanceNotFound:  # purged since the read above
                return state
            self._known[instance_id] = (state.last_updated_at, code)
            while len(self._known) > self._max_entries:
                self._known.popitem(last=False)
        self._known.move_to_end(instance_id)
        return replace(state, version=code[0], patches=code[1])


def status_cache(client: Sidecar, settings: Settings, on_end: OnEnd | None = None) -> StatusCache:
    """The statuses /status serves, with the code each runs, read through the app's one client
    (app/sidecar/cache.py); `on_end` learns of each end they see."""
    read = WithCode(client, settings.status_cache_entries)
    return StatusCache(
        read,
        status_json,
        running_max_age=settings.status_max_age_seconds,
        finished_max_age=settings.finished_status_max_age_seconds,
        idle_max_age=settings.idle_status_max_age_seconds,
        max_entries=settings.status_cache_entries,
        wait=read.wait,
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
