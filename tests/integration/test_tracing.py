"""Tracing for real: daprd with the project's tracing Configuration, pointed at a receiver here."""

import time
from collections.abc import Iterator

import httpx
import pytest

from tests.integration.otlp_receiver import Receiver, otlp_receiver
from tests.integration.polling import start, wait_for, wait_until
from tests.integration.stacks import running_stack

APP_SERVICE = "workflow-service-app"  # as k8s/app.yaml names it; daprd's is the app id


@pytest.fixture(scope="module")
def traced(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[httpx.Client, Receiver]]:
    with otlp_receiver() as receiver:
        app_env = {
            "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://{receiver.endpoint}",
            "OTEL_SERVICE_NAME": APP_SERVICE,
            "OTEL_BSP_SCHEDULE_DELAY": "200",
        }
        workdir = tmp_path_factory.mktemp("traced")
        with (
            running_stack(workdir, otlp_endpoint=receiver.endpoint, app_env=app_env) as stack,
            httpx.Client(base_url=stack.replicas[0].url, timeout=30) as api,
        ):
            yield api, receiver


def test_workflow_and_activity_spans_reach_the_collector(
    traced: tuple[httpx.Client, Receiver],
) -> None:
    api, receiver = traced
    iid = start(
        api,
        "task_chaining",
        {"task_id": "tr", "title": "URGENT trace", "description": "Trace the API"},
    )
    wait_for(api, iid)

    def spans_for_every_step() -> bool:
        # The app's request span comes from its own batch exporter, apart from daprd's spans.
        names = " ".join(receiver.names())
        return all(
            step in names
            for step in (
                "POST /start-workflow",
                "task_chaining",
                "validate_task",
                "enrich_task",
                "score_task",
            )
        )

    wait_until(spans_for_every_step, timeout=30, what=f"workflow spans, got {receiver.names()}")
    request = next(s for s in receiver.spans if s.name == "POST /start-workflow")
    # The app's request span and the sidecar's workflow spans share one trace.
    same_trace = {s.name for s in receiver.spans if s.trace_id == request.trace_id}
    assert "/TaskHubSidecarService/StartInstance" in same_trace
    assert "create_orchestration||task_chaining" in same_trace
    assert "orchestration||task_chaining" in same_trace


def test_the_apps_traces_begin_with_a_request_not_a_lone_sidecar_call(
    traced: tuple[httpx.Client, Receiver],
) -> None:
    """The readiness probe's and the worker's calls to the sidecar start no trace of their own:
    by thousands, they would bury the requests' traces in Jaeger's search."""
    api, receiver = traced
    for _ in range(3):
        assert api.get("/readyz").status_code == 200  # its probes of the sidecar: untraced
    wait_for(api, start(api, "fan_out_fan_in", {"task_ids": ["a", "b"]}))

    def requests_exported() -> bool:
        return any(s.name.startswith("GET /status") for s in receiver.spans)

    wait_until(requests_exported, timeout=30, what=f"the polls' spans, got {receiver.names()}")
    time.sleep(1)  # five of the app's export intervals: a lone call's span would be here by now
    roots = {s.name for s in receiver.spans if s.service == APP_SERVICE and not s.parent_id}
    assert roots and all(name.split()[0] in {"GET", "POST"} for name in roots), roots
