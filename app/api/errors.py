"""One JSON error shape for every failure: ``{"error": code, "message": text, "details": ...}``.

No stack trace reaches a client; unexpected errors are logged here and answered with a 500.
"""

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from app import metrics
from app.sidecar import (
    InstanceNotFound,
    InvalidToken,
    OutcomeUnknown,
    SidecarRejected,
    SidecarUnavailable,
)

log = logging.getLogger("app.api")
RETRY_AFTER_UNAVAILABLE = "5"
SIDECAR_UNAVAILABLE = "The Dapr sidecar did not take the request; nothing was done. Retry shortly"
OUTCOME_UNKNOWN = (
    "The request reached the Dapr sidecar but its answer did not come in time: it may "
    "have taken effect. Check the status URL before sending it again"
)
SIDECAR_REJECTED = "The Dapr sidecar refused the request"


class ApiError(Exception):
    """An error with its HTTP status, a stable code and a reason for the caller."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        details: Any = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.details = status, code, message, details
        self.headers = headers


def error_response(
    status: int, code: str, message: str, details: Any = None, headers: dict[str, str] | None = None
) -> JSONResponse:
    if status in (429, 503):
        metrics.refused(status, code)
    body: dict[str, Any] = {"error": code, "message": message}
    if details is not None:
        body["details"] = details
    return JSONResponse(body, status_code=status, headers=headers)


def not_found(instance_id: str) -> ApiError:
    return ApiError(404, "not_found", f"No workflow instance with id {instance_id!r}")


def not_ready(parts: dict[str, bool]) -> ApiError:
    return ApiError(
        503,
        "not_ready",
        "The workflow runtime is recovering; nothing was done. Retry after Retry-After seconds",
        {"not_ready": sorted(name for name, ok in parts.items() if not ok)},
        headers={"Retry-After": RETRY_AFTER_UNAVAILABLE},
    )


def invalid_event(event_name: str, details: Any = None) -> ApiError:
    return ApiError(422, "invalid_event", f"Not a valid {event_name} payload", details)


def invalid_input(what: str, error: ValidationError) -> ApiError:
    """422 for input that does not fit the model it is held to, with the field errors."""
    return ApiError(
        422, "invalid_input", f"Invalid input for {what}", field_errors(error.errors(), "input")
    )


def invalid_event_id(event_id: int, instance_id: str, details: Any = None) -> ApiError:
    return ApiError(
        422,
        "invalid_event_id",
        f"Event {event_id} of {instance_id!r} is not an activity call or child workflow: rerun "
        "from one of those",
        details,
    )


def field_errors(errors: Any, *prefix: str) -> list[dict[str, Any]]:
    """pydantic's errors as {loc, msg, type}, their locations under `prefix`."""
    return [
        {"loc": [*prefix, *e.get("loc", ())], "msg": e.get("msg", ""), "type": e.get("type", "")}
        for e in errors
    ]


UNDECODABLE_BODY = "There was an error parsing the body"


def install(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def api_error(_: Request, exc: ApiError) -> JSONResponse:
        return error_response(exc.status, exc.code, exc.message, exc.details, exc.headers)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        malformed = next((e for e in errors if e.get("type") == "json_invalid"), None)
        if malformed is not None and isinstance(exc.body, str):
            return _malformed_json(exc.body, malformed)
        return error_response(
            422, "invalid_request", "The request is not valid", field_errors(errors)
        )

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 400 and exc.detail == UNDECODABLE_BODY:
            # FastAPI's words for a JSON body that is not UTF-8: one more malformed body.
            return error_response(
                422, "invalid_request", "The body is not valid JSON: it is not UTF-8 text"
            )
        code = {404: "not_found", 405: "method_not_allowed", 413: "body_too_large"}.get(
            exc.status_code, "http_error"
        )
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            headers["Allow"] = _allowed(request)
        return error_response(exc.status_code, code, str(exc.detail), headers=headers)

    @app.exception_handler(SidecarUnavailable)
    async def sidecar_down(_: Request, exc: SidecarUnavailable) -> JSONResponse:
        log.warning("sidecar unavailable: %s", exc)
        return error_response(
            503,
            "sidecar_unavailable",
            SIDECAR_UNAVAILABLE,
            headers={"Retry-After": RETRY_AFTER_UNAVAILABLE},
        )

    @app.exception_handler(OutcomeUnknown)
    async def outcome_unknown(_: Request, exc: OutcomeUnknown) -> JSONResponse:
        log.warning("sidecar answer lost for %s: %s", exc.instance_id, exc)
        status_url = f"/status/{exc.instance_id}"
        return error_response(
            504,
            "outcome_unknown",
            OUTCOME_UNKNOWN,
            {"instance_id": exc.instance_id, "status_url": status_url},
        )

    @app.exception_handler(InstanceNotFound)
    async def gone(_: Request, exc: InstanceNotFound) -> JSONResponse:
        # Found a moment before, then gone (a purge racing this request): the instance is not.
        return error_response(404, "not_found", "No such workflow instance (any more)")

    @app.exception_handler(InvalidToken)
    async def bad_token(_: Request, exc: InvalidToken) -> JSONResponse:
        return error_response(
            422, "invalid_request", "continuation_token is not one a page of this listing gave"
        )

    @app.exception_handler(SidecarRejected)
    async def sidecar_rejected(_: Request, exc: SidecarRejected) -> JSONResponse:
        log.warning("sidecar rejected a request: %s", exc)  # the details stay in the log
        return error_response(502, "sidecar_rejected", SIDECAR_REJECTED)

    @app.exception_handler(Exception)
    async def unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error")
        return error_response(500, "internal_error", "Internal error; it has been logged")


def _allowed(request: Request) -> str:
    """Every method some route takes at this path (Starlette names only the first route's: at
    /workflows/{x}, DELETE of an instance and POST, the start of a workflow, share the shape)."""
    return ", ".join(
        method
        for method in ("DELETE", "GET", "HEAD", "PATCH", "POST", "PUT")
        if any(
            route.matches({**request.scope, "method": method})[0] is Match.FULL
            for route in request.app.routes
        )
    )


def _malformed_json(text: str, error: dict[str, Any]) -> JSONResponse:
    """Where the body stops being JSON, as a person counts: line and column, from 1."""
    position = int(error["loc"][-1])
    line = text.count("\n", 0, position) + 1
    column = position - (text.rfind("\n", 0, position) + 1) + 1
    reason = error.get("ctx", {}).get("error", "invalid JSON")
    return error_response(
        422,
        "invalid_request",
        f"The body is not valid JSON: {reason} at line {line}, column {column}",
        [{"loc": ["body"], "line": line, "column": column, "msg": reason, "type": "json_invalid"}],
    )
