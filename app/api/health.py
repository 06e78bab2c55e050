"""Liveness and readiness."""

from fastapi import APIRouter, Request, Response

from app.api.errors import RETRY_AFTER_UNAVAILABLE
from app.readiness import Readiness

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is alive."""
    return {"status": "ok"}


@router.get("/readyz", responses={503: {"description": "A part a request needs is not ready"}})
async def readyz(request: Request, response: Response) -> dict[str, bool]:
    """A start, an event and a timer would go through now: sidecar, placement, scheduler, worker."""
    readiness: Readiness = request.app.state.readiness
    parts = await readiness.fresh()
    if not all(parts.values()):
        response.status_code = 503
        response.headers["Retry-After"] = RETRY_AFTER_UNAVAILABLE
    return parts
