"""Tracing for real: daprd with the project's tracing Configuration, pointed at a receiver here."""

from collections.abc import Iterator

import httpx
import pytest

from tests.integration.otlp_receiver import Receiver, otlp_receiver
from tests.integration.polling import start, wait_for, wait_until
from tests.integration.stacks import running_stack


@pytest.fixture(scope="module")
def traced(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[httpx.Client, Receiver]]:
    with otlp_receiver() as receiver:
        app_env = {
            "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://{receiver.endpoint}",
            "OTEL_SERVICE_NAME": "workflow-service",
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
