"""What handlers get through ``Depends``: the shared client, the settings, the caller's identity.

Every dependency is ``async def``: FastAPI runs a plain ``def`` one in its thread pool, a hop
that waits for the GIL the workflow worker's threads hold, on every request."""

import secrets
from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.security import APIKeyHeader

from app.api.errors import ApiError, not_ready
from app.config import Settings
from app.readiness import Readiness
from app.sidecar import Sidecar
from app.sidecar.cache import StatusCache

API_KEY_HEADER = "X-API-Key"
_api_key = APIKeyHeader(
    name=API_KEY_HEADER,
    auto_error=False,
    description="Needed on mutating endpoints when the service has keys set",
)


async def get_client(request: Request) -> Sidecar:
    client: Sidecar = request.app.state.client
    return client


async def get_app_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_statuses(request: Request) -> StatusCache:
    statuses: StatusCache = request.app.state.statuses
    return statuses


ClientDep = Annotated[Sidecar, Depends(get_client)]
SettingsDep = Annotated[Settings, Depends(get_app_settings)]
StatusesDep = Annotated[StatusCache, Depends(get_statuses)]


async def caller(
    settings: SettingsDep, key: Annotated[str | None, Security(_api_key)] = None
) -> str | None:
    """The owner of the caller's API key; None when the service runs without keys."""
    owners = settings.api_key_owners()
    if not owners:
        return None
    for known, owner in owners.items():
        if key is not None and secrets.compare_digest(known.encode(), key.encode()):
            return owner
    raise ApiError(
        401,
        "unauthorized",
        f"A valid {API_KEY_HEADER} header is required",
        headers={"WWW-Authenticate": API_KEY_HEADER},
    )


CallerDep = Annotated[str | None, Depends(caller)]


async def ready_caller(request: Request, settings: SettingsDep, who: CallerDep) -> str | None:
    """The caller, once the runtime can take a change: waits for readiness, bounded."""
    readiness: Readiness = request.app.state.readiness
    if not await readiness.wait(settings.ready_wait_seconds):
        raise not_ready(await readiness.check())
    return who


# For the endpoints that change something: an authorised caller and a runtime ready for it.
ChangerDep = Annotated[str | None, Depends(ready_caller)]
