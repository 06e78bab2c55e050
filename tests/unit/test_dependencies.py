"""Request handling stays on the event loop: FastAPI runs a plain `def` dependency or endpoint in
its thread pool, a hop that waits for the GIL the workflow worker's threads hold."""

import inspect
from collections.abc import Iterator
from typing import Any

from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient


def _calls(dependant: Dependant) -> Iterator[object]:
    if dependant.call is not None:
        yield dependant.call
    for sub in dependant.dependencies:
        yield from _calls(sub)


def _is_async(call: object) -> bool:
    return inspect.iscoroutinefunction(call) or inspect.iscoroutinefunction(
        getattr(call, "__call__", None)  # noqa: B004 - a class instance used as a dependency
    )


def _routes(routes: list[Any]) -> Iterator[APIRoute]:
    """The API's routes, through the routers included in the app."""
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        router = getattr(route, "original_router", None)
        if router is not None:
            yield from _routes(router.routes)


def test_every_dependency_and_endpoint_of_the_api_is_async(http: TestClient) -> None:
    routes = list(_routes(http.app.routes))  # type: ignore[attr-defined]
    sync = {
        f"{route.path}: {getattr(call, '__name__', call)}"
        for route in routes
        for call in _calls(route.dependant)
        if not _is_async(call)
    }
    assert routes and not sync
