"""The service's pages: the dashboard at /, Swagger UI at /docs and ReDoc at /redoc."""

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from app.config import Settings
from app.pages import dashboard, docs
from app.pages.security import BrowserGuard

HERE = Path(__file__).parent


def install(app: FastAPI, settings: Settings) -> None:
    """Pages, their static files and the browser protections, on an app built without docs."""
    templates = Jinja2Templates(directory=HERE / "templates")
    app.add_middleware(BrowserGuard, allowed_hosts=settings.browser_hosts())
    docs.install(app, templates)  # mounts /static/vendor first: /static would hide it
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    app.include_router(dashboard.build_router(templates))
