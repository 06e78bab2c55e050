"""Two replicas, a client on each: what one writes the other shows within the status bounds,
statuses never go backwards, and a purge is not served stale beyond the finished bound."""

import threading
import time
from collections.abc import Iterator

import httpx
import pytest

from app.config import Settings
from tests.integration.polling import FINISHED, start
from tests.integration.stacks import running_stack

ORDER = {"order_id": "o-rep", "product": "Laptop", "quantity": 1, "cost": 5000}
DECISION = {"approved": True, "approver": "Replica test"}
ORDER_OF = {"PENDING": 0, "RUNNING": 1, "COMPLETED": 2, "FAILED": 2, "TERMINATED": 2}
RUNNING_BOUND = Settings().status_max_age_seconds
FINISHED_BOUND = Settings().finished_status_max_age_seconds


@pytest.fixture(scope="module")
def apis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[httpx.Client]]:
    with running_stack(tmp_path_factory.mktemp("replicas"), replicas=2) as stack:
        clients = [httpx.Client(base_url=r.url, timeout=30) for r in stack.replicas]
        try:
            yield clients
        finally:
            for client in clients:
                client.close()


def _poll(api: httpx.Client, iid: str, seen: list[str], stop: threading.Event) -> None:
    """A client polling every 20 ms, as an impatient user would; what it saw, in order."""
    while not stop.is_set():
        response = api.get(f"/status/{iid}")
        if response.status_code == 200:
            seen.append(response.json()["runtime_status"])
        time.sleep(0.02)


def test_a_state_written_via_one_replica_shows_via_the_other_within_the_bound(
    apis: list[httpx.Client],
) -> None:
    one, other = apis
    iid = start(one, "purchase_approval", ORDER)
    seen: list[list[str]] = [[], []]
    stop = threading.Event()
    pollers = [
        threading.Thread(target=_poll, args=(api, iid, seen[n], stop)) for n, api in enumerate(apis)
    ]
    for poller in pollers:
        poller.start()
    try:
        deadline = time.monotonic() + 30
        while not (seen[1] and seen[1][-1] == "RUNNING") and time.monotonic() < deadline:
            time.sleep(0.05)
        response = one.post(f"/workflows/{iid}/events/approval_received", json=DECISION)
        assert response.status_code == 202, response.text
        stored = one.get(f"/status/{iid}", params={"wait": 30}).json()  # returns once stored
        assert stored["runtime_status"] == "COMPLETED"
        time.sleep(RUNNING_BOUND)
        assert other.get(f"/status/{iid}").json()["runtime_status"] == "COMPLETED"
        time.sleep(0.2)
    finally:
        stop.set()
        for poller in pollers:
            poller.join()
    for statuses in seen:
        assert statuses, "the poller saw no status"
        ranks = [ORDER_OF[s] for s in statuses]
        assert ranks == sorted(ranks), f"a status went backwards: {statuses}"
        assert statuses[-1] in FINISHED


def test_a_purge_via_one_replica_is_not_served_stale_by_the_other_beyond_the_bound(
    apis: list[httpx.Client],
) -> None:
    one, other = apis
    iid = start(one, "purchase_approval", {**ORDER, "cost": 1})  # auto-approved: finishes
    assert one.get(f"/status/{iid}", params={"wait": 30}).json()["runtime_status"] == "COMPLETED"
    assert other.get(f"/status/{iid}").json()["runtime_status"] == "COMPLETED"  # now kept there
    assert one.delete(f"/workflows/{iid}").status_code == 204
    assert one.get(f"/status/{iid}").status_code == 404  # the purging replica: at once
    time.sleep(FINISHED_BOUND)
    assert other.get(f"/status/{iid}").status_code == 404


def test_a_rerun_via_one_replica_shows_on_the_other_within_the_bound(
    apis: list[httpx.Client],
) -> None:
    one, other = apis
    iid = start(one, "purchase_approval", {**ORDER, "cost": 1})
    assert one.get(f"/status/{iid}", params={"wait": 30}).json()["runtime_status"] == "COMPLETED"
    assert other.get(f"/status/{iid}").json()["runtime_status"] == "COMPLETED"
    assert one.delete(f"/workflows/{iid}").status_code == 204
    start(one, "purchase_approval", ORDER, instance_id=iid)  # waits for a human this time
    time.sleep(FINISHED_BOUND)
    assert other.get(f"/status/{iid}").json()["runtime_status"] in ("PENDING", "RUNNING")
