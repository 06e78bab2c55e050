"""`make bench`: throughput, latency, fan-out efficiency and memory on the real local stack.

Starts placement, scheduler, Redis, one daprd and one app process (tools/stack.py), drives them
from this process through the sidecar's gRPC API (as the app's own client does) and through the
HTTP API, prints a table and writes the figures to bench-results/<date>.json.

    python -m tools.bench [--quick] [--only api] [--app-env APP_X=value]

scenarios.py says what runs, drivers.py how a workflow is started and awaited, measure.py what is
measured, environment.py on what, and report.py how the figures are shown.
"""
