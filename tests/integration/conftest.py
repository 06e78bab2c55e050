"""The integration tests' fixtures and report: one shared stack, its API, logs under failures.

Tests that break or load a stack get one of their own: `fresh`, or running_stack (stacks.py).
"""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.integration.faults import ROWS, TABLE_HEADER
from tests.integration.stacks import RUNNING, running_stack
from tools.stack import Stack


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with running_stack(tmp_path_factory.mktemp("stack")) as running:
        yield running


@pytest.fixture(scope="session")
def api(stack: Stack) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=stack.replicas[0].url, timeout=30.0) as client:
        yield client


@pytest.fixture
def fresh(tmp_path: Path) -> Iterator[tuple[Stack, httpx.Client]]:
    """A stack of the test's own, and a client of its app: for tests that break or load it."""
    with (
        running_stack(tmp_path) as stack,
        httpx.Client(base_url=stack.replicas[0].url, timeout=30) as api,
    ):
        yield stack, api


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome: Any = yield
    report = outcome.get_result()
    if report.failed and RUNNING:
        for running in RUNNING:
            report.sections.append((f"stack logs ({Path(running.workdir)})", running.logs()))


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """The fault tests' table: what was in flight, what completed, what ran twice."""
    if ROWS:
        terminalreporter.section("durability under faults")
        terminalreporter.write_line(TABLE_HEADER)
        for row in ROWS:
            terminalreporter.write_line(row.row())
