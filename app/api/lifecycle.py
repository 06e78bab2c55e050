"""POST /workflows/{id}/terminate, /pause and /resume: each answered only where it means
something, one at a time per instance in this replica."""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, Response

from app.api.deps import ChangerDep, ClientDep, SettingsDep, StatusesDep
from app.api.errors import ApiError
from app.api.locks import KeyedLocks
from app.api.lookups import accepted, unfinished
from app.api.models import Accepted, InstanceIdPath, ReasonBody
from app.api.responses import error_responses
from app.config import Settings
from app.sidecar import InstanceState, Sidecar
from app.sidecar.cache import StatusCache

router = APIRouter(tags=["instances"])
Endpoint = TypeVar("Endpoint", bound=Callable[..., Any])

# A lifecycle change of one instance at a time through this replica: each call reads the state
# it acts on fresh, after the change before it has taken effect (the sidecar answers a pause once
# the instance is SUSPENDED, a resume once it runs again).
_changing = KeyedLocks()


def _route(action: str) -> Callable[[Endpoint], Endpoint]:
    return router.post(
        f"/workflows/{{instance_id}}/{action}",
        status_code=202,
        response_model=Accepted,
        responses=error_responses(401, 504, 404, 409),
        summary=action.capitalize(),
    )


@dataclass(frozen=True)
class LifecycleCall:
    """What terminate, pause and resume share: the instance, the sidecar, the answer."""

    instance_id: str
    client: Sidecar
    statuses: StatusCache
    settings: Settings
    response: Response

    async def change(
        self, action: str, change: Callable[[InstanceState], Awaitable[None]], message: str
    ) -> Accepted:
        """Read the state, let `change` refuse it (an ApiError) or act on it; 202."""
        async with _changing.hold(self.instance_id):
            state = await unfinished(self.client, self.instance_id, action)
            try:
                await change(state)
            finally:
                self.statuses.forget(self.instance_id)
        return accepted(self.instance_id, message, self.response, self.settings)


async def _lifecycle_call(
    instance_id: InstanceIdPath,
    client: ClientDep,
    statuses: StatusesDep,
    settings: SettingsDep,
    response: Response,
    _: ChangerDep,
) -> LifecycleCall:
    return LifecycleCall(instance_id, client, statuses, settings, response)


LifecycleDep = Annotated[LifecycleCall, Depends(_lifecycle_call)]


def _reason(body: ReasonBody | None) -> str | None:
    return body.reason if body else None


@_route("terminate")
async def terminate(call: LifecycleDep, body: ReasonBody | None = None) -> Accepted:
    """Terminate an unfinished instance, paused or not; in-flight activities are not cancelled."""

    async def change(_: InstanceState) -> None:
        await call.client.terminate(call.instance_id, _reason(body))

    return await call.change("terminate", change, "Termination requested")


@_route("pause")
async def pause(call: LifecycleDep, body: ReasonBody | None = None) -> Accepted:
    """Suspend a running instance until it is resumed; a paused one is a 409 already_paused."""

    async def change(state: InstanceState) -> None:
        if state.runtime_status == "SUSPENDED":
            raise ApiError(
                409, "already_paused", f"Instance {call.instance_id!r} is already SUSPENDED"
            )
        await call.client.pause(call.instance_id, _reason(body))

    return await call.change("pause", change, "Pause requested")


@_route("resume")
async def resume(call: LifecycleDep, body: ReasonBody | None = None) -> Accepted:
    """Resume a paused (SUSPENDED) instance; one that is not paused is a 409 not_paused."""

    async def change(state: InstanceState) -> None:
        if state.runtime_status != "SUSPENDED":
            raise ApiError(
                409,
                "not_paused",
                f"Cannot resume: instance {call.instance_id!r} is {state.runtime_status}, "
                "not paused",
            )
        await call.client.resume(call.instance_id, _reason(body))

    return await call.change("resume", change, "Resume requested")
