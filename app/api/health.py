"""Liveness and readiness."""

import asyncio

from fastapi import APIRouter, Request, Response

from app.api.deps import ClientDep
from app.sidecar import SidecarRejected, SidecarUnavailable

router = APIRouter(tags=["health"])
PROBE_ID = "readyz-probe"


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is alive."""
    return {"status": "ok"}


@router.get("/readyz", responses={503: {"description": "Sidecar or workflow worker not ready"}})
async def readyz(request: Request, response: Response, client: ClientDep) -> dict[str, bool]:
    """The sidecar answers and the workflow worker's stream is connected."""
    try:
        await client.get(PROBE_ID)
        sidecar = True
    except (SidecarUnavailable, SidecarRejected):
        sidecar = False
    runtime = request.app.state.runtime
    worker = await asyncio.to_thread(runtime.wait_for_worker_ready, 0.01)
    if not (sidecar and worker):
        response.status_code = 503
        response.headers["Retry-After"] = "2"
    return {"sidecar": sidecar, "worker": bool(worker)}
