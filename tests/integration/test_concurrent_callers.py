"""Fifty callers at once, starting purchases and deciding them, on each store: no 5xx.

A store too busy to begin a transaction (SQLite's lock under many writers) is waited for by the
store and retried by the client; what still cannot pass is a 503 + Retry-After, never a 502."""

import logging
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from tests.integration.polling import wait_for
from tools.stack import Stack

pytestmark = pytest.mark.stores("sqlite", "redis", "postgres")
CALLERS = 50
ORDERS_EACH = 4
ORDER = {"product": "Laptop", "quantity": 1, "cost": 5000}
log = logging.getLogger(__name__)


def _caller(base: str, n: int) -> list[tuple[str, int, str]]:
    """Start ORDERS_EACH purchases, then approve each once it waits: (call, status, id)."""
    answers = []
    with httpx.Client(base_url=base, timeout=30) as api:
        for k in range(ORDERS_EACH):
            iid = f"busy-{n}-{k}-{time.monotonic_ns()}"
            order = {**ORDER, "order_id": iid}
            body = {"workflow": "purchase_approval", "input": order, "instance_id": iid}
            answers.append(("start", api.post("/start-workflow", json=body).status_code, iid))
        for _, status, iid in list(answers):
            if status == 202:
                wait_for(api, iid, {"RUNNING"})
                decision = {"approved": True, "approver": f"caller-{n}"}
                r = api.post(f"/workflows/{iid}/events/approval_received", json=decision)
                answers.append(("decide", r.status_code, iid))
    return answers


def test_fifty_callers_starting_and_deciding_get_no_server_error(stack: Stack, store: str) -> None:
    base = stack.replicas[0].url
    began = time.monotonic()
    with ThreadPoolExecutor(CALLERS) as pool:
        answers = [a for each in pool.map(lambda n: _caller(base, n), range(CALLERS)) for a in each]
    log.warning(
        "%s: %d calls from %d callers in %.1f s, %d answered 5xx",
        store,
        len(answers),
        CALLERS,
        time.monotonic() - began,
        sum(a[1] >= 500 for a in answers),
    )
    assert [a for a in answers if a[1] >= 500] == []
    decided = [iid for call, status, iid in answers if call == "decide" and status == 202]
    assert len(decided) == CALLERS * ORDERS_EACH
    with httpx.Client(base_url=base, timeout=60) as api:
        for iid in decided:
            assert wait_for(api, iid, timeout=120)["runtime_status"] == "COMPLETED"
