"""The integration tests' fixtures and report: one shared stack per store, its API, logs under
failures.

Tests that break or load a stack get one of their own: `fresh`, or running_stack (stacks.py).
A module marked `pytestmark = pytest.mark.stores(*EVERY_STORE)` runs each test once per store
(ids `[redis]`, `[postgres]`); every other test runs on Redis. Tests on one store run together,
so each store's shared stack is started once.
"""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.integration.faults import ROWS, TABLE_HEADER
from tests.integration.stacks import RUNNING, running_stack
from tools.stack import Stack


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "stores(*names): run the test once on each store")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "store" in metafunc.fixturenames:
        marker = metafunc.definition.get_closest_marker("stores")
        stores = marker.args if marker else ("redis",)
        metafunc.parametrize("store", stores, indirect=True, scope="session")


@pytest.fixture(scope="session")
def store(request: pytest.FixtureRequest) -> str:
    """The store of the test's stack: a parameter (pytest_generate_tests)."""
    return str(request.param)


@pytest.fixture(scope="session")
def stack(store: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with running_stack(tmp_path_factory.mktemp(f"stack-{store}"), store) as running:
        yield running


@pytest.fixture(scope="session")
def api(stack: Stack) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=stack.replicas[0].url, timeout=30.0) as client:
        yield client


@pytest.fixture
def fresh(store: str, tmp_path: Path) -> Iterator[tuple[Stack, httpx.Client]]:
    """A stack of the test's own, and a client of its app: for tests that break or load it."""
    with (
        running_stack(tmp_path, store) as stack,
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
