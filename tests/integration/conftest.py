"""A real stack for the integration tests: placement, scheduler, Redis, daprd and the app.

Nothing here skips: if the Dapr runtime or redis-server cannot be had, the tests error with the
reason. Each process logs to the session's work dir; a failing test shows every log's tail.
"""

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from tools.stack import Stack

FINISHED = {"COMPLETED", "FAILED", "TERMINATED"}
_stacks: list[Stack] = []


@contextmanager
def running_stack(workdir: Path, **options: Any) -> Iterator[Stack]:
    """A started stack whose logs a failing test shows; stopped however the test ends."""
    with Stack(workdir, store="redis", **options) as running:
        _stacks.append(running)
        try:
            yield running
        finally:
            _stacks.remove(running)


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with running_stack(tmp_path_factory.mktemp("stack")) as running:
        yield running


@pytest.fixture(scope="session")
def api(stack: Stack) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=stack.replicas[0].url, timeout=30.0) as client:
        yield client


def start(api: httpx.Client, workflow: str, payload: dict[str, Any], **extra: Any) -> str:
    response = api.post("/start-workflow", json={"workflow": workflow, "input": payload, **extra})
    assert response.status_code == 202, response.text
    return str(response.json()["instance_id"])


def wait_for(
    api: httpx.Client, instance_id: str, statuses: set[str] = FINISHED, timeout: float = 60.0
) -> dict[str, Any]:
    """Poll /status until the instance reaches one of the statuses."""
    deadline = time.monotonic() + timeout
    body: dict[str, Any] = {}
    while time.monotonic() < deadline:
        response = api.get(f"/status/{instance_id}")
        if response.status_code == 200:
            body = response.json()
            if body["runtime_status"] in statuses:
                return body
        time.sleep(0.2)
    raise AssertionError(f"{instance_id} not in {statuses} after {timeout}s: {body}")


def wait_until(condition: Any, timeout: float = 30.0, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"{what} not met after {timeout}s")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome: Any = yield
    report = outcome.get_result()
    if report.failed and _stacks:
        for running in _stacks:
            report.sections.append((f"stack logs ({Path(running.workdir)})", running.logs()))


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """The fault tests' table: what was in flight, what completed, what ran twice."""
    from tests.integration.faults import ROWS, TABLE_HEADER

    if ROWS:
        terminalreporter.section("durability under faults")
        terminalreporter.write_line(TABLE_HEADER)
        for row in ROWS:
            terminalreporter.write_line(row.row())
