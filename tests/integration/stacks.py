"""Stacks the integration tests start: placement, scheduler, Redis, daprd and the app.

Nothing here skips: if the Dapr runtime or redis-server cannot be had, the tests error with the
reason. Each process logs to the stack's work dir; conftest.py shows every running stack's log
tails under a failing test.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tools.stack import Stack

# The stacks running now, for a failing test's report.
RUNNING: list[Stack] = []


@contextmanager
def running_stack(workdir: Path, **options: Any) -> Iterator[Stack]:
    """A started stack whose logs a failing test shows; stopped however the test ends."""
    with Stack(workdir, store="redis", **options) as running:
        RUNNING.append(running)
        try:
            yield running
        finally:
            RUNNING.remove(running)
