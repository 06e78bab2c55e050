"""/metrics on the real stack: the README's approval, started, approved and ended, counted in
the series of the replicas that served it (its end by whichever worker ran it)."""

import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests.integration.polling import start, wait_for, wait_until
from tools.stack import Stack

SERIES = (
    ("workflow_starts_total", {"workflow": "purchase_approval"}),
    (
        "workflow_events_raised_total",
        {"workflow": "purchase_approval", "event": "approval_received"},
    ),
    ("workflow_ends_total", {"workflow": "purchase_approval", "status": "COMPLETED"}),
)


def summed(stack: Stack) -> dict[str, float]:
    """Each series of SERIES, summed over the stack's replicas."""
    totals = dict.fromkeys((name for name, _ in SERIES), 0.0)
    for replica in stack.replicas:
        text = httpx.get(f"{replica.url}/metrics", timeout=10).text
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                for name, labels in SERIES:
                    if sample.name == name and sample.labels == labels:
                        totals[name] += sample.value
    return totals


def test_an_approval_is_counted_at_its_start_event_and_end(stack: Stack, api: httpx.Client) -> None:
    before = summed(stack)
    order = {"order_id": "metrics-1", "product": "Laptop", "quantity": 1, "cost": 5000}
    instance_id = start(api, "purchase_approval", order)
    wait_for(api, instance_id, {"RUNNING"})
    wait_until(
        lambda: api.get(f"/status/{instance_id}").json().get("custom_status"),
        what="the approval is waiting",
    )
    raised = api.post(
        f"/workflows/{instance_id}/events/approval_received",
        json={"approved": True, "approver": "Jane Doe"},
    )
    assert raised.status_code == 202, raised.text
    assert wait_for(api, instance_id)["runtime_status"] == "COMPLETED"
    after = wait_until(
        lambda: (
            (now := summed(stack))["workflow_ends_total"] > before["workflow_ends_total"] and now
        ),
        what="the end counted",
    )
    grew = {name: after[name] - before[name] for name in after}
    # an earlier test's instance may end meanwhile on the shared stack: ends grow by 1 at least
    assert grew["workflow_starts_total"] == grew["workflow_events_raised_total"] == 1.0, grew
    assert grew["workflow_ends_total"] >= 1.0, grew
