"""The HTTP API's request and response models (the workflows' own models live beside them)."""

from datetime import datetime
from typing import Annotated, Any

from fastapi import Path
from pydantic import BaseModel, Field

from app.api.catalogue import CATALOG
from app.config import Settings

# Letters, digits and . _ : - ; starts with a letter or digit; no path tricks, no surprises in logs.
INSTANCE_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$"
InstanceIdPath = Annotated[
    str, Path(pattern=INSTANCE_ID_PATTERN, max_length=128, description="A workflow instance id")
]
EventNamePath = Annotated[
    str,
    Path(
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$",
        description="The event's name",
        examples=["approval_received"],
    ),
]


class ErrorModel(BaseModel):
    error: str = Field(examples=["not_found"])
    message: str
    details: Any = None


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


def error_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for the error codes an endpoint can answer with."""
    return {code: {"model": ErrorModel} for code in (*codes, 422, 503)}


def accepted_headers(instance_id: str, settings: Settings) -> dict[str, str]:
    """Where to poll and how soon: the headers of every 202."""
    return {"Location": f"/status/{instance_id}", "Retry-After": str(settings.retry_after_seconds)}
