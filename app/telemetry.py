"""OpenTelemetry spans for the app's HTTP requests and its calls to the sidecar.

Configured by the standard variables (OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_SERVICE_NAME, ...); off
when no endpoint is set. The gRPC instrumentation puts the request's trace context on each call to
the sidecar, so the sidecar's workflow spans can join the request's trace. A call to the sidecar
made outside any request (the readiness probe's, the workflow worker's own) starts no trace: each
would be a trace of one call, and they would bury the requests' traces.
"""

import logging
import os
from collections.abc import Sequence

from fastapi import FastAPI
from opentelemetry.context import Context
from opentelemetry.sdk.trace.sampling import Decision, ParentBased, Sampler, SamplingResult
from opentelemetry.trace import Link, SpanKind
from opentelemetry.trace.span import TraceState
from opentelemetry.util.types import Attributes

log = logging.getLogger("app.telemetry")
ENDPOINT_VARIABLES = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")


def setup_tracing(app: FastAPI) -> bool:
    """Export spans over OTLP when an endpoint is configured; True if tracing is on."""
    if not any(os.environ.get(v) for v in ENDPOINT_VARIABLES):
        _undo_sdk_instrumentation()
        return False
    from opentelemetry import trace
    from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
    from opentelemetry.instrumentation.grpc import GrpcAioInstrumentorClient
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    # OTEL_TRACES_SAMPLER, when set, chooses instead.
    sampler = None if os.environ.get("OTEL_TRACES_SAMPLER") else ParentBased(NoLoneClientCalls())
    provider = TracerProvider(resource=Resource.create(), sampler=sampler)
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    FastAPIInstrumentor.instrument_app(
        app, excluded_urls="healthz,readyz", tracer_provider=provider
    )
    GrpcAioInstrumentorClient().instrument(tracer_provider=provider)  # type: ignore[no-untyped-call]
    log.info("tracing to %s", next(os.environ[v] for v in ENDPOINT_VARIABLES if os.environ.get(v)))
    return True


def _undo_sdk_instrumentation() -> None:
    """The workflow SDK instruments every gRPC channel on import when the gRPC instrumentation is
    installed; with no exporter that is pure overhead on each call of the workflow worker."""
    try:
        from opentelemetry.instrumentation.grpc import GrpcInstrumentorClient
    except ImportError:
        return
    instrumentor = GrpcInstrumentorClient()  # type: ignore[no-untyped-call]
    if instrumentor.is_instrumented_by_opentelemetry:
        instrumentor.uninstrument()


class NoLoneClientCalls(Sampler):
    """Samples a trace's first span unless it is a client call (made outside any request)."""

    def should_sample(
        self,
        parent_context: Context | None,
        trace_id: int,
        name: str,
        kind: SpanKind | None = None,
        attributes: Attributes = None,
        links: Sequence[Link] | None = None,
        trace_state: TraceState | None = None,
    ) -> SamplingResult:
        if kind is SpanKind.CLIENT:
            return SamplingResult(Decision.DROP)
        return SamplingResult(Decision.RECORD_AND_SAMPLE, attributes)

    def get_description(self) -> str:
        return "NoLoneClientCalls"
