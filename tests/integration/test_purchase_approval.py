"""purchase_approval through the HTTP API on the real sidecar: every decision path."""

import uuid

import httpx
import pytest

from tests.integration.polling import start, wait_for
from tests.integration.stacks import EVERY_STORE

pytestmark = pytest.mark.stores(*EVERY_STORE)


def uid(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def order(cost: float, timeout: float = 120) -> dict[str, object]:
    return {
        "order_id": uid("order"),
        "product": "Laptop",
        "quantity": 1,
        "cost": cost,
        "approval_timeout_seconds": timeout,
    }


def decide(api: httpx.Client, iid: str, approved: bool, approver: str) -> httpx.Response:
    return api.post(
        f"/workflows/{iid}/events/approval_received",
        json={"approved": approved, "approver": approver},
    )


def test_small_order_is_auto_approved(api: httpx.Client) -> None:
    out = wait_for(api, start(api, "purchase_approval", order(999)))["output"]
    assert (out["status"], out["message"]) == ("auto_approved", "Auto-approved")


def test_large_order_approved_by_a_human(api: httpx.Client) -> None:
    iid = start(api, "purchase_approval", order(5000))
    wait_for(api, iid, {"RUNNING"})
    assert decide(api, iid, True, "Jane Doe").status_code == 202
    out = wait_for(api, iid)["output"]
    assert (out["status"], out["approved_by"], out["message"]) == (
        "approved",
        "Jane Doe",
        "Approved by 'Jane Doe'",
    )


def test_large_order_rejected_by_a_human(api: httpx.Client) -> None:
    iid = start(api, "purchase_approval", order(5000))
    assert decide(api, iid, False, "Bob").status_code == 202
    out = wait_for(api, iid)["output"]
    assert (out["status"], out["approved_by"]) == ("rejected", "Bob")
    assert out["message"].startswith("Rejected by 'Bob'")


def test_unanswered_order_times_out_and_is_cancelled(api: httpx.Client) -> None:
    iid = start(api, "purchase_approval", order(5000, timeout=2))
    out = wait_for(api, iid, timeout=30)["output"]
    assert out["status"] == "cancelled"
    assert out["message"] == "Cancelled: no approval within 2 seconds"
    names = [
        e["name"]
        for e in api.get(f"/workflows/{iid}/history").json()["events"]
        if e["kind"] == "taskScheduled"
    ]
    assert names == ["check_budget", "request_approval", "release_reservation"]


def test_order_over_the_budget_is_refused_before_anyone_is_asked(api: httpx.Client) -> None:
    iid = start(api, "purchase_approval", order(1_000_000))  # APP_PURCHASE_BUDGET: 100000
    out = wait_for(api, iid)["output"]
    assert out["status"] == "over_budget"
    assert out["message"] == "Over budget: 1000000.00 exceeds the budget of 100000.00"
