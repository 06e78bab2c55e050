"""/metrics on the real stack: the README's approval, started, approved and ended, counted in
the series of the replicas that served it (its end by whichever worker ran it); a waiting one
found by the census of unfinished instances; make run's Prometheus scraping the app and daprd."""

import time
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests.integration.polling import start, wait_for, wait_until
from tests.integration.stacks import running_stack
from tests.integration.test_local_stack import listening_sockets
from tools import promtool
from tools.launch import LOOPBACK
from tools.paths import ROOT
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


def test_the_census_counts_a_waiting_approval_and_dates_its_wait(tmp_path: Path) -> None:
    census = {"APP_CENSUS_SECONDS": "1"}
    with running_stack(tmp_path, app_env=census) as stack:
        api = httpx.Client(base_url=stack.replicas[0].url, timeout=30)
        order = {"order_id": "census-1", "product": "Desk", "quantity": 1, "cost": 5000}
        start(api, "purchase_approval", order, instance_id="census-1")
        waiting = wait_until(
            lambda: api.get("/status/census-1").json().get("custom_status"),
            what="the approval is waiting",
        )
        assert waiting

        def counted() -> dict[str, float]:
            found = {}
            text = api.get("/metrics").text
            for family in text_string_to_metric_families(text):
                for sample in family.samples:
                    if sample.labels.get("workflow") == "purchase_approval":
                        found[sample.name] = sample.value
            return found if "workflow_instances_unfinished" in found else {}

        series = wait_until(counted, timeout=30, what="the census's series")
        assert series["workflow_instances_unfinished"] == 1.0
        oldest = series["workflow_oldest_unchanged_timestamp_seconds"]
        assert time.time() - 60 < oldest <= time.time()
        api.close()


def test_make_runs_prometheus_scrapes_the_app_and_daprd_with_the_rules(tmp_path: Path) -> None:
    # make run's stack: SQLite, and Prometheus from Debian's package (make promtool unpacks it)
    with running_stack(tmp_path, store="sqlite", prometheus=promtool.fetch("prometheus")) as stack:
        api = httpx.Client(base_url=stack.replicas[0].url, timeout=30)
        chain = {"task_id": "scraped", "title": "Bug", "description": "counted in Prometheus"}
        assert wait_for(api, start(api, "task_chaining", chain))["runtime_status"] == "COMPLETED"
        prometheus = f"http://{LOOPBACK}:{stack.prometheus_port}"
        queries = (
            'workflow_starts_total{job="workflow-service",workflow="task_chaining"}',
            '{job="daprd",__name__=~"dapr_runtime_workflow_.+"}',
        )

        def scraped() -> bool:
            for query in queries:
                answer = httpx.get(f"{prometheus}/api/v1/query", params={"query": query})
                if not answer.json()["data"]["result"]:
                    return False
            return True

        wait_until(scraped, timeout=60, what="the app's and daprd's series in Prometheus")
        groups = httpx.get(f"{prometheus}/api/v1/rules").json()["data"]["groups"]
        shipped = (ROOT / "k8s" / "prometheus" / "alerts.yaml").read_text().count("- alert:")
        assert sum(len(group["rules"]) for group in groups) == shipped > 0
        pid = stack.processes["prometheus"].popen.pid  # type: ignore[union-attr]
        assert {address for address, _, _ in listening_sockets({pid})} == {LOOPBACK}
        api.close()
