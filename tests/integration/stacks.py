"""Stacks the integration tests start: placement, scheduler, a store, daprd and the app.

Redis is the store unless a test asks for another: a module marked `stores(...)` runs each of
its tests once per store named (conftest.py), `EVERY_STORE` being the servers a deployment uses.
Nothing here skips: if the Dapr runtime, redis-server or PostgreSQL cannot be had, the tests
error with the reason. Each process logs to the stack's work dir; conftest.py shows every running
stack's log tails under a failing test.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tools.stack import Stack

# The stores the workflow paths and the faults are proven on: the cluster's and production's.
EVERY_STORE = ("redis", "postgres")

# The stacks running now, for a failing test's report.
RUNNING: list[Stack] = []
# Monitors here check targets on loopback, as with `make run`. Two .test names lead where a
# monitor never may, both on this machine: an address standing in for the cluster's API server,
# and the unspecified address. Every test starts from one address, so admission control is off
# (test_admission.py turns it on in a stack of its own).
API_SERVER_STAND_IN = "127.0.0.2"
TEST_ENV = {
    "APP_MAX_STARTS_PER_SECOND": "0",
    "APP_MAX_RUNNING_INSTANCES": "0",
    "APP_MAX_PENDING_WORK_ITEMS": "0",
    "APP_MONITOR_ALLOW_PRIVATE": "true",
    "KUBERNETES_SERVICE_HOST": API_SERVER_STAND_IN,
    "APP_MONITOR_TEST_RESOLVE": f"api-server.test={API_SERVER_STAND_IN},nowhere.test=0.0.0.0",
}


@contextmanager
def running_stack(workdir: Path, store: str = "redis", **options: Any) -> Iterator[Stack]:
    """A started stack whose logs a failing test shows; stopped however the test ends."""
    options["app_env"] = {**TEST_ENV, **options.get("app_env", {})}
    with Stack(workdir, store=store, **options) as running:
        RUNNING.append(running)
        try:
            yield running
        finally:
            RUNNING.remove(running)
