"""POST /workflows/{id}/rerun: a new instance that replays a finished one up to an event."""

import typing
import uuid
from typing import Any

from fastapi import APIRouter, Response
from pydantic import TypeAdapter, ValidationError

from app import metrics, runtime
from app.api.admission import AdmittedDep
from app.api.catalogue import CATALOG
from app.api.deps import ChangerDep, ClientDep, SettingsDep, StatusesDep
from app.api.errors import ApiError, invalid_event_id, invalid_input
from app.api.lookups import existing, still_running
from app.api.models import Accepted, InstanceIdPath, RerunRequest, accepted_headers
from app.api.responses import error_responses
from app.config import Settings
from app.sidecar import InstanceExists, Sidecar

router = APIRouter(tags=["instances"])
# The history events the runtime can rerun from: an activity call or a child workflow's start.
RERUNNABLE = frozenset({"taskScheduled", "childWorkflowInstanceCreated"})


@router.post(
    "/workflows/{instance_id}/rerun",
    status_code=202,
    response_model=Accepted,
    responses=error_responses(401, 504, 404, 409, 429),
)
async def rerun(
    instance_id: InstanceIdPath,
    body: RerunRequest,
    client: ClientDep,
    statuses: StatusesDep,
    settings: SettingsDep,
    response: Response,
    running: AdmittedDep,
    _: ChangerDep,
) -> Accepted:
    """Rerun a finished instance from one of its activity calls, as a new instance.

    Everything before from_event_id is replayed from the history, not run again; that activity
    and all after it run anew, with the new input for that activity when one is given.
    """
    # A rerun starts an instance: the caller's rate (AdmittedDep) and the running cap, as a start.
    with running.slot() as started:
        try:
            reply = await _rerun(instance_id, body, client, settings, response)
        finally:
            if body.new_instance_id:  # a poll of that id before the rerun may have found nothing
                statuses.forget(body.new_instance_id)
        started(reply.instance_id)
        return reply


async def _rerun(
    instance_id: str,
    body: RerunRequest,
    client: Sidecar,
    settings: Settings,
    response: Response,
) -> Accepted:
    source = await existing(client, instance_id)
    if not source.finished:
        raise still_running(source, "only a finished one can rerun")
    history = await client.history(instance_id)
    if any(e["kind"] == "executionStarted" and e["details"].get("parentInstance") for e in history):
        raise ApiError(
            422,
            "invalid_request",
            f"{instance_id!r} is a child workflow, which the runtime cannot rerun; rerun its "
            "parent from the event that started it",
        )
    events = {e["event_id"]: e["kind"] for e in history}
    if events.get(body.from_event_id) not in RERUNNABLE:
        rerunnable = sorted(i for i, k in events.items() if k in RERUNNABLE)
        raise invalid_event_id(
            body.from_event_id, instance_id, {"rerunnable_event_ids": rerunnable}
        )
    new_id = body.new_instance_id or uuid.uuid4().hex
    if new_id == instance_id:
        raise ApiError(
            422, "invalid_request", "new_instance_id must differ from the instance rerun"
        )
    # The runtime reruns only into an id no instance has, finished or not.
    taken = ApiError(
        409, "instance_exists", f"Instance {new_id!r} exists; choose another id or purge it first"
    )
    if await client.get(new_id) is not None:
        raise taken
    new_input = "input" in body.model_fields_set
    name = next(e["name"] for e in history if e["event_id"] == body.from_event_id)
    payload = _checked_input(name, body.input, settings) if new_input else None
    try:
        new_id = await client.rerun(instance_id, body.from_event_id, new_id, payload, new_input)
    except InstanceExists:  # a start into that id racing this rerun
        raise taken from None
    metrics.started(metrics.bounded(source.workflow, CATALOG))
    response.headers.update(accepted_headers(new_id, settings))
    return Accepted(
        instance_id=new_id,
        status_url=f"/status/{new_id}",
        message=f"Rerun of {instance_id!r} from event {body.from_event_id}",
    )


def _checked_input(name: str, value: Any, settings: Settings) -> Any:
    """A rerun's new input, validated as the activity or child workflow it replaces reads it
    (the same model a start is held to); 422 with the field errors."""
    target = runtime.activities(settings).get(name) or runtime.workflows(settings).get(name)
    hints = typing.get_type_hints(target) if target else {}
    hints.pop("return", None)
    if len(hints) < 2:  # no typed input to hold it to
        return value
    adapter: TypeAdapter[Any] = TypeAdapter(list(hints.values())[1])
    try:
        return adapter.dump_python(adapter.validate_python(value), mode="json")
    except ValidationError as error:
        raise invalid_input(f"{name}, the step the rerun replaces", error) from None
