"""The HTTP API's request and response models (the workflows' own models live beside them)."""

from datetime import datetime
from typing import Annotated, Any, Literal, get_args

from fastapi import Path
from pydantic import AfterValidator, BaseModel, Field, computed_field

from app.api.catalogue import CATALOG
from app.config import Settings
from app.sidecar.convert import MAX_PAYLOAD_DEPTH, nesting

# Letters, digits and . _ : - ; starts with a letter or digit; no path tricks, no surprises in logs.
INSTANCE_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$"
InstanceIdPath = Annotated[
    str, Path(pattern=INSTANCE_ID_PATTERN, max_length=128, description="A workflow instance id")
]
# The events each workflow waits for: offered by name in Swagger UI and on the dashboard.
KNOWN_EVENTS: dict[str, tuple[str, ...]] = {
    name: tuple(spec.events) for name, spec in CATALOG.items() if spec.events
}
EventNamePath = Annotated[
    str,
    Path(
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$",
        description="The event's name: one a workflow waits for (see the examples)",
        openapi_examples={
            f"{workflow}: {event}": {"summary": f"{workflow} waits for {event}", "value": event}
            for workflow, events in KNOWN_EVENTS.items()
            for event in events
        },
    ),
]


def _nested_at_most(value: Any) -> Any:
    """A free-form payload nests at most MAX_PAYLOAD_DEPTH levels: a deeper one could parse here
    and yet not encode for the sidecar."""
    if nesting(value) > MAX_PAYLOAD_DEPTH:
        raise ValueError(f"nested deeper than {MAX_PAYLOAD_DEPTH} levels")
    return value


# Any JSON, as an event's payload or a rerun's input: the workflow reads it.
Payload = Annotated[Any, AfterValidator(_nested_at_most)]


class StartRequest(BaseModel):
    workflow: str = Field(
        description="One of the registered workflow names",
        examples=["task_chaining"],
        json_schema_extra={"enum": list(CATALOG)},  # a dropdown in Swagger UI
    )
    input: dict[str, Any] = Field(default_factory=dict, description="That workflow's input")
    instance_id: str | None = Field(
        None,
        pattern=INSTANCE_ID_PATTERN,
        max_length=128,
        description="Optional; a new id is made when absent",
    )


class StartResponse(BaseModel):
    instance_id: str
    workflow: str
    status_url: str
    raise_event_url: str = Field(description="Replace {event_name}")
    terminate_url: str
    pause_url: str
    resume_url: str
    purge_url: str
    history_url: str


class WorkflowStatus(BaseModel):
    instance_id: str
    workflow: str
    runtime_status: str = Field(examples=["RUNNING"])
    created_at: datetime | None
    last_updated_at: datetime | None
    input: Any = None
    output: Any = None
    custom_status: Any = None
    failure: dict[str, str] | None = None
    version: str | None = Field(
        None, description="The version of its workflow it runs, when the workflow has versions"
    )
    patches: list[str] = Field(
        default_factory=list,
        description="The patches (ctx.is_patched) it has taken; one that started before a patch "
        "keeps the old path and has not",
    )

    @computed_field(  # type: ignore[prop-decorator]
        description="How to bring back an instance that a runtime defect or a deploy failed"
    )
    @property
    def recovery(self) -> str | None:
        return recovery_for(self.instance_id, self.failure)


# What failed an instance that a rerun can bring back, by the words the SDK fails it with.
_RECOVERABLE = {
    "executionResumed": "a resume reached it while it was running, which the workflow SDK "
    "mishandled (docs/lifecycle.md)",
    "NonDeterminismError": "the code deployed could not replay its history "
    "(docs/changing-workflows.md); deploy code that replays it first",
}


def recovery_for(instance_id: str, failure: dict[str, str] | None) -> str | None:
    """For a failure the instance did not cause: what it was, and the rerun that carries on."""
    text = " ".join((failure or {}).values())
    for marker, why in _RECOVERABLE.items():
        if marker in text:
            return (
                f"Failed because {why}. Rerun it from its last activity call before the failure "
                f"(POST /workflows/{instance_id}/rerun with that event's from_event_id; "
                f"GET /workflows/{instance_id}/history lists them): the new instance replays "
                "the history up to there and carries on."
            )
    return None


class Accepted(BaseModel):
    instance_id: str
    status_url: str
    message: str


class ReasonBody(BaseModel):
    reason: str | None = Field(None, max_length=2000)


class InstanceList(BaseModel):
    instances: list[WorkflowStatus]
    continuation_token: str | None = Field(None, description="Pass back to get the next page")


class HistoryEvent(BaseModel):
    event_id: int
    kind: str | None
    timestamp: datetime | None
    name: str | None
    details: dict[str, Any]


class History(BaseModel):
    instance_id: str
    events: list[HistoryEvent]


def accepted_headers(instance_id: str, settings: Settings) -> dict[str, str]:
    """Where to poll and how soon: the headers of every 202."""
    return {"Location": f"/status/{instance_id}", "Retry-After": str(settings.retry_after_seconds)}


RuntimeStatus = Literal[
    "RUNNING",
    "PENDING",
    "SUSPENDED",
    "STALLED",  # waiting for a deploy that has its workflow's version (docs/changing-workflows.md)
    "COMPLETED",
    "FAILED",
    "TERMINATED",
    "CONTINUED_AS_NEW",
]
RUNTIME_STATUSES: tuple[str, ...] = get_args(RuntimeStatus)


class RerunRequest(BaseModel):
    from_event_id: int = Field(
        ge=0,
        description="The history event_id of an activity call (taskScheduled) or a child "
        "workflow (childWorkflowInstanceCreated): the new instance runs again from there",
        examples=[3],
    )
    new_instance_id: str | None = Field(
        None,
        pattern=INSTANCE_ID_PATTERN,
        max_length=128,
        description="Optional; a new id is made when absent",
    )
    input: Payload = Field(
        None, description="Optional new input for that activity; absent keeps the old one"
    )
