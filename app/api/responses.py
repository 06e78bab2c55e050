"""What each endpoint documents it may answer besides success: the one error shape, with the
codes each status answers with, as the API really sends them."""

from typing import Any

from pydantic import BaseModel, Field

from app.api.errors import (
    OUTCOME_UNKNOWN,
    SIDECAR_REJECTED,
    SIDECAR_UNAVAILABLE,
    invalid_event,
    invalid_event_id,
    not_found,
    not_ready,
)


class ErrorModel(BaseModel):
    error: str = Field(description="A stable code; each status's example shows its codes")
    message: str
    details: Any = None


# The codes each status answers with, as the API really sends them (the messages that do not
# depend on the request come from app.api.errors, which sends them).
ERROR_EXAMPLES: dict[int, list[tuple[str, str]]] = {
    401: [("unauthorized", "A valid X-API-Key header is required")],
    403: [
        ("cross_site_request", "A state-changing request from another site is refused"),
        (
            "host_not_allowed",
            "A browser reached this service as 'rebound.example:8000', a name it does not answer "
            "to; add the name to APP_ALLOWED_HOSTS if it is this service's",
        ),
    ],
    404: [("not_found", not_found("order-1001").message)],
    409: [
        ("instance_exists", "Instance 'order-1001' is still active; choose another id"),
        ("already_finished", "Cannot terminate: instance 'order-1001' is COMPLETED"),
        ("already_paused", "Instance 'order-1001' is already SUSPENDED"),
        ("not_paused", "Cannot resume: instance 'order-1001' is RUNNING, not paused"),
        ("still_running", "Instance 'order-1001' is RUNNING; terminate it first"),
    ],
    413: [("body_too_large", "Request bodies are limited to 1048576 bytes")],
    415: [("unsupported_media_type", "Send the event's payload as JSON")],
    422: [
        ("invalid_request", "The request is not valid"),
        ("invalid_input", "Invalid input for purchase_approval"),
        ("unknown_workflow", "Unknown workflow 'nope'"),
        ("invalid_event", invalid_event("approval_received").message),
        ("invalid_event_id", invalid_event_id(2, "order-1001").message),
    ],
    429: [
        ("rate_limited", "More than 20 starts a second from this caller; slow down"),
        (
            "worker_busy",
            "This replica's worker holds 100 work items (its bound is 100); retry later",
        ),
        ("too_many_running", "100 instances started here are still running; retry later"),
    ],
    502: [("sidecar_rejected", SIDECAR_REJECTED)],
    503: [
        ("sidecar_unavailable", SIDECAR_UNAVAILABLE),
        ("not_ready", not_ready({"scheduler": False}).message),
    ],
    504: [("outcome_unknown", OUTCOME_UNKNOWN)],
}


def error_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for the error codes an endpoint can answer with, each with its examples.

    An endpoint that needs a key (401) changes something: it also refuses cross-site browser
    requests (403) and bodies over the limit (413). Every endpoint may meet a sidecar that
    refuses (502) or is not there (503).
    """
    statuses = (*codes, *((403, 413) if 401 in codes else ()), 422, 502, 503)
    return {
        code: {
            "model": ErrorModel,
            "content": {
                "application/json": {
                    "examples": {
                        error: {"value": {"error": error, "message": message}}
                        for error, message in ERROR_EXAMPLES[code]
                    }
                }
            },
        }
        for code in statuses
    }
