"""Swagger UI and ReDoc, served with their assets by the service itself: no CDN at run time.

The assets are those of the pinned `fastapi-offline` package (Swagger UI 5, ReDoc 2); the pages
load them and a small start-up script from /static, so the pages need no inline script.
"""

import json
from pathlib import Path
from typing import Any

import fastapi_offline
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

VENDOR_DIR = Path(fastapi_offline.__file__).parent / "static"
VENDOR_URL = "/static/vendor"
# The examples name the service as `make run` serves it; /openapi.json puts the address the
# request came to in their place, so the monitor's example checks this very service.
EXAMPLE_ORIGIN = "http://localhost:8000"


def service_origin(request: Request) -> str:
    """The scheme, host and port the caller used to reach the service."""
    return str(request.base_url).rstrip("/")


def with_origin(value: Any, origin: str) -> Any:
    """A copy of a JSON value with the examples' service address replaced by `origin`."""
    return json.loads(json.dumps(value).replace(EXAMPLE_ORIGIN, origin))


def without_keys(schema: dict[str, Any]) -> dict[str, Any]:
    """The spec of a service running without API keys: no operation asks for one, none answers
    401 (a generated client would otherwise demand a key that does not exist)."""
    schema = json.loads(json.dumps(schema))
    schema.get("components", {}).pop("securitySchemes", None)
    for path in schema.get("paths", {}).values():
        for operation in path.values():
            operation.pop("security", None)
            operation.get("responses", {}).pop("401", None)
    return schema


def install(app: FastAPI, templates: Jinja2Templates) -> None:
    """Routes /docs, /redoc and /openapi.json, and the vendored assets under /static/vendor."""
    router = APIRouter(include_in_schema=False)

    @router.get("/openapi.json")
    async def openapi(request: Request) -> JSONResponse:
        schema = app.openapi()
        if not request.app.state.settings.api_key_owners():
            schema = without_keys(schema)
        return JSONResponse(with_origin(schema, service_origin(request)))

    @router.get("/docs", response_class=HTMLResponse)
    async def swagger_ui(request: Request) -> HTMLResponse:
        return templates.TemplateResponse(request, "docs/swagger.html", {"vendor": VENDOR_URL})

    @router.get("/redoc", response_class=HTMLResponse)
    async def redoc(request: Request) -> HTMLResponse:
        return templates.TemplateResponse(request, "docs/redoc.html", {"vendor": VENDOR_URL})

    app.include_router(router)
    app.mount(VENDOR_URL, StaticFiles(directory=VENDOR_DIR), name="vendor")
