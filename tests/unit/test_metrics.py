"""/metrics: Prometheus' text format, each series counted where it happens, labels bounded."""

import grpc
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from tests.unit.fakes import CHAIN, FakeClient, client_for
from tests.unit.test_sidecar import TRANSIENT, FlakyStub, purge_with, rpc_error


def value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def scraped(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def test_a_start_an_event_and_a_refusal_are_counted_by_name_never_by_id(
    fake: FakeClient,
) -> None:
    starts = value("workflow_starts_total", workflow="task_chaining")
    answered = value("http_requests_total", method="POST", route="/start-workflow", code="202")
    refused = value("workflow_refusals_total", code="429", reason="rate_limited")
    events = value("workflow_events_raised_total", workflow="task_chaining", event="other")
    with client_for(fake, max_starts_per_second=0.5, start_burst=1) as http:
        started = http.post("/start-workflow", json={**CHAIN, "instance_id": "order-7f3a"})
        assert started.status_code == 202
        assert http.post("/start-workflow", json=CHAIN).status_code == 429
        raised = http.post("/workflows/order-7f3a/events/Whatever-Name-9", json={})
        assert raised.status_code == 202
        assert http.get("/no/such/page").status_code == 404
        scrape = http.get("/metrics")
    assert scrape.status_code == 200
    assert scrape.headers["content-type"].startswith("text/plain; version=0.0.4")
    series = scraped(scrape.text)
    assert series[("workflow_starts_total", frozenset({("workflow", "task_chaining")}))] == (
        starts + 1
    )
    assert value("http_requests_total", method="POST", route="/start-workflow", code="202") == (
        answered + 1
    )
    assert value("workflow_refusals_total", code="429", reason="rate_limited") == refused + 1
    # an event no workflow declares is "other": its name is the caller's free text
    assert (
        value("workflow_events_raised_total", workflow="task_chaining", event="other") == events + 1
    )
    assert value("http_requests_total", method="GET", route="other", code="404") >= 1
    assert "order-7f3a" not in scrape.text and "Whatever-Name-9" not in scrape.text
    assert "/no/such/page" not in scrape.text


def test_the_scrape_reports_readiness_the_workers_backlog_and_status_reads(
    fake: FakeClient,
) -> None:
    reads = value("workflow_status_reads_total", kind="read")
    with client_for(fake) as http:
        assert http.get("/status/nobody").status_code == 404
        series = scraped(http.get("/metrics").text)
    assert series[("workflow_status_reads_total", frozenset({("kind", "read")}))] == reads + 1
    parts = {
        dict(labels)["part"]: v for (name, labels), v in series.items() if name == "workflow_ready"
    }
    assert parts == {"sidecar": 1.0, "placement": 1.0, "scheduler": 1.0, "worker": 1.0}
    assert series[("workflow_worker_pending_work_items", frozenset())] == 0.0


def test_each_attempt_at_a_sidecar_call_is_timed_and_each_failure_counted_by_kind() -> None:
    timed = value("workflow_sidecar_call_duration_seconds_count", operation="PurgeInstances")
    failed = value(
        "workflow_sidecar_call_errors_total", operation="PurgeInstances", error="TransientRead"
    )
    stub = FlakyStub(rpc_error(grpc.StatusCode.UNKNOWN, TRANSIENT))
    assert purge_with(stub) == 1  # retried once, then answered
    assert value("workflow_sidecar_call_duration_seconds_count", operation="PurgeInstances") == (
        timed + 2
    )
    assert value(
        "workflow_sidecar_call_errors_total", operation="PurgeInstances", error="TransientRead"
    ) == (failed + 1)


def test_the_series_alerts_compare_over_time_exist_at_zero_from_the_start(
    fake: FakeClient,
) -> None:
    """increase() counts a first failure only after a sample before it."""
    with client_for(fake) as http:
        series = scraped(http.get("/metrics").text)
    labels = frozenset({("method", "POST"), ("route", "/start-workflow"), ("code", "500")})
    assert ("http_requests_total", labels) in series
    for workflow in ("task_chaining", "purchase_approval"):
        failed = frozenset({("workflow", workflow), ("status", "FAILED")})
        assert ("workflow_ends_total", failed) in series
