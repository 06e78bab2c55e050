"""Start workflows: POST /start-workflow for any, POST /workflows/{name} typed per workflow."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Body, Query, Response
from pydantic import BaseModel, ValidationError

from app import metrics
from app.api.admission import AdmittedDep, RunningInstances
from app.api.catalogue import CATALOG
from app.api.deps import ChangerDep, ClientDep, SettingsDep, StatusesDep
from app.api.errors import ApiError, invalid_input
from app.api.models import (
    INSTANCE_ID_PATTERN,
    StartRequest,
    StartResponse,
    accepted_headers,
)
from app.api.responses import error_responses
from app.config import Settings
from app.sidecar import InstanceActive, Sidecar
from app.sidecar.cache import StatusCache

router = APIRouter(tags=["start"])

# Named by workflow in Swagger UI's example menu; the docstring is the example's description.
START_EXAMPLES = {
    name: {
        "summary": name,
        "description": spec.summary,
        "value": {"workflow": name, "input": spec.example},
    }
    for name, spec in CATALOG.items()
}


def _unknown(name: str) -> ApiError:
    return ApiError(
        422, "unknown_workflow", f"Unknown workflow {name!r}", {"valid_workflows": sorted(CATALOG)}
    )


async def start(
    request: StartRequest,
    client: Sidecar,
    statuses: StatusCache,
    settings: Settings,
    response: Response,
    running: RunningInstances,
) -> StartResponse:
    """Validate, refuse an id in use or over the cap, start; nothing starts unless all is well."""
    with running.slot() as started:
        reply = await _start(request, client, statuses, settings, response)
        started(reply.instance_id)
        return reply


async def _start(
    request: StartRequest,
    client: Sidecar,
    statuses: StatusCache,
    settings: Settings,
    response: Response,
) -> StartResponse:
    spec = CATALOG.get(request.workflow)
    if spec is None:
        raise _unknown(request.workflow)
    try:
        payload = spec.build_input(request.input, settings)
    except ValidationError as error:
        raise invalid_input(spec.name, error) from None
    except ValueError as error:
        raise ApiError(422, "invalid_input", str(error)) from None
    instance_id = request.instance_id or uuid.uuid4().hex
    in_use = ApiError(
        409, "instance_exists", f"Instance {instance_id!r} is still active; choose another id"
    )
    # A fresh random id cannot be in use: only a caller's own id costs a read.
    existing = await client.get(instance_id) if request.instance_id else None
    if existing is not None and not existing.finished:
        raise in_use
    try:
        await client.start(spec.name, payload.model_dump(mode="json"), instance_id)
    except InstanceActive:  # a start racing this one, or a terminate still settling
        raise in_use from None
    finally:
        statuses.forget(instance_id)  # a rerun of a finished id: its old status is gone
    statuses.started(instance_id)
    metrics.started(spec.name)
    response.headers.update(accepted_headers(instance_id, settings))
    base = f"/workflows/{instance_id}"
    return StartResponse(
        instance_id=instance_id,
        workflow=spec.name,
        status_url=f"/status/{instance_id}",
        raise_event_url=f"{base}/events/{{event_name}}",
        terminate_url=f"{base}/terminate",
        pause_url=f"{base}/pause",
        resume_url=f"{base}/resume",
        purge_url=base,
        history_url=f"{base}/history",
    )


@router.post(
    "/start-workflow",
    status_code=202,
    response_model=StartResponse,
    responses=error_responses(401, 504, 409, 429),
)
async def start_workflow(
    request: Annotated[StartRequest, Body(openapi_examples=START_EXAMPLES)],
    client: ClientDep,
    statuses: StatusesDep,
    settings: SettingsDep,
    response: Response,
    running: AdmittedDep,
    _: ChangerDep,
) -> StartResponse:
    """Start a workflow; poll the returned status_url until it is finished."""
    return await start(request, client, statuses, settings, response, running)


InstanceIdQuery = Annotated[str | None, Query(pattern=INSTANCE_ID_PATTERN, max_length=128)]


def _typed_start(name: str) -> None:
    """POST /workflows/{name}: the same start, with that workflow's input model as the body."""
    spec = CATALOG[name]

    async def endpoint(
        body: BaseModel,
        client: ClientDep,
        statuses: StatusesDep,
        settings: SettingsDep,
        response: Response,
        running: AdmittedDep,
        _: ChangerDep,
        instance_id: InstanceIdQuery = None,
    ) -> StartResponse:
        request = StartRequest(
            workflow=name, input=body.model_dump(mode="json"), instance_id=instance_id
        )
        return await start(request, client, statuses, settings, response, running)

    # The body's type is only known here; FastAPI reads it from the annotation.
    endpoint.__annotations__["body"] = Annotated[
        spec.input_model, Body(openapi_examples={name: {"summary": name, "value": spec.example}})
    ]
    router.add_api_route(
        f"/workflows/{name}",
        endpoint,
        methods=["POST"],
        status_code=202,
        response_model=StartResponse,
        responses=error_responses(401, 504, 409, 429),
        summary=f"Start {name}",
        description=spec.summary,
    )


for _name in CATALOG:
    _typed_start(_name)


@router.post("/workflows/{name}", include_in_schema=False)
async def unknown_typed_start(name: str) -> None:
    """Any other name: the same 422 as /start-workflow, not a 405."""
    raise _unknown(name)
