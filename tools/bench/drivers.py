"""How a scenario's workflows are started and awaited: through the sidecar's gRPC API, as the
app's own client does, or through the HTTP API, as a user would."""

import uuid
from collections.abc import Awaitable, Callable

import httpx

from app.sidecar import WorkflowClient
from tools.bench.measure import Result, measure
from tools.bench.scenarios import Scenario
from tools.launch import LOOPBACK
from tools.stack import Stack

Driver = Callable[[Stack, Scenario], Awaitable[Result]]


async def _measure(stack: Stack, s: Scenario, one: Callable[[int], Awaitable[bool]]) -> Result:
    return await measure(stack, s.name, s.count, s.concurrency, s.count * s.activities_each, one)


async def via_client(stack: Stack, s: Scenario) -> Result:
    """Start and await workflows through the sidecar's gRPC API."""
    client = WorkflowClient(f"{LOOPBACK}:{stack.replicas[0].grpc_port}", timeout=60)
    prefix = uuid.uuid4().hex[:8]

    async def one(i: int) -> bool:
        iid = await client.start(s.workflow, s.payload(i), f"{prefix}-{i}")
        state = await client.wait(iid, timeout=600, payloads=False)
        return state is not None and state.runtime_status == "COMPLETED"

    try:
        return await _measure(stack, s, one)
    finally:
        await client.close()


async def via_http(stack: Stack, s: Scenario) -> Result:
    """As a user would: POST /start-workflow, then long-poll the status URL (?wait=10)."""
    limits = httpx.Limits(max_connections=s.concurrency)
    async with httpx.AsyncClient(base_url=stack.replicas[0].url, timeout=60, limits=limits) as api:

        async def one(i: int) -> bool:
            body = {"workflow": s.workflow, "input": s.payload(i)}
            try:
                started = await api.post("/start-workflow", json=body)
            except httpx.TransportError:
                return False
            if started.status_code != 202:
                return False
            while True:
                try:
                    url = started.headers["Location"]
                    state = (await api.get(url, params={"wait": 10})).json()
                except httpx.TransportError:
                    continue  # a keep-alive connection closed under us: poll again
                if state.get("runtime_status") in ("COMPLETED", "FAILED", "TERMINATED"):
                    return bool(state["runtime_status"] == "COMPLETED")

        result = await _measure(stack, s, one)
    result.note = "long polls /status?wait=10"
    return result


DRIVERS: dict[str, Driver] = {"client": via_client, "http": via_http}
