"""How a scenario's workflows are started and awaited: through the sidecar's gRPC API, as the
app's own client does, or through the HTTP API, as a user would.

The HTTP clients are aiohttp's: the driver shares the two cores with the stack it measures, and
httpx's connection pool cost it several milliseconds of CPU per request with 30 or more
connections in use (its own figure is the `driver` column)."""

import asyncio
import contextlib
import multiprocessing
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aiohttp

from app.sidecar import WorkflowClient
from app.sidecar.errors import OutcomeUnknown, SidecarRejected, SidecarUnavailable
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
        try:
            iid = await client.start(s.workflow, s.payload(i), f"{prefix}-{i}")
            state = await client.wait(iid, timeout=600, payloads=False)
        except (SidecarRejected, SidecarUnavailable, OutcomeUnknown):
            return False  # a failure of the run (SQLite: "database is locked"), not of the bench
        return state is not None and state.runtime_status == "COMPLETED"

    try:
        return await _measure(stack, s, one)
    finally:
        await client.close()


FINISHED = ("COMPLETED", "FAILED", "TERMINATED")
# The measured run starts this long after every waiting approval was first polled: the steady
# state of approvals that wait for a human, not the first seconds after they were started. The
# app reads a polled, unchanged instance after at most 1, 2, 4, then every 5 s (its default
# bounds, each but the first spread over its upper half): 15 s is past that ramp and two 5 s
# bounds, by when the reads of approvals started together have spread out.
POLLED_BEFORE_SECONDS = 15.0
# Above the approval threshold, within the budget: it waits for a human.
APPROVAL = {"order_id": "bench", "product": "Bench", "quantity": 1, "cost": 5000}


def _session(base_url: str, connections: int) -> aiohttp.ClientSession:
    connector = aiohttp.TCPConnector(limit=connections)
    timeout = aiohttp.ClientTimeout(total=60)
    return aiohttp.ClientSession(base_url, connector=connector, timeout=timeout)


async def _started(api: aiohttp.ClientSession, workflow: str, payload: object) -> str | None:
    """POST /start-workflow; the status URL, or None when the start was refused."""
    body = {"workflow": workflow, "input": payload}
    try:
        async with api.post("/start-workflow", json=body) as started:
            await started.read()
            return started.headers["Location"] if started.status == 202 else None
    except aiohttp.ClientError:
        return None


async def _poll(
    api: aiohttp.ClientSession, url: str, every: float | None, polls: list[int]
) -> dict[str, Any]:
    """GET the status until it is terminal: every `every` seconds, or long-polling when None.
    Counts its requests in polls[0]."""
    params = {"wait": "10"} if every is None else None
    while True:
        try:
            async with api.get(url, params=params) as response:
                state: dict[str, Any] = await response.json() if response.status == 200 else {}
                status = response.status
        except aiohttp.ClientConnectionError:
            continue  # a keep-alive connection closed under us: poll again
        polls[0] += 1
        if status != 200:
            return {"runtime_status": f"HTTP {status}"}
        if state.get("runtime_status") in FINISHED:
            return state
        if every is not None:
            await asyncio.sleep(every)


async def _approvals(api: aiohttp.ClientSession, count: int) -> list[str]:
    """The status URLs of `count` purchase approvals started to wait for a human."""
    started = await asyncio.gather(
        *(_started(api, "purchase_approval", APPROVAL) for _ in range(count))
    )
    return [url for url in started if url]


def _pollers(
    base_url: str, urls: list[str], every: float, events: tuple[Any, Any], count: Any, cpu: Any
) -> None:
    """In a process of its own (so that its clients do not slow the measured ones' event loop):
    poll each URL every `every` seconds, set `ready` once each was polled, until `stop` is set.
    The requests made so far go to `count`, the CPU seconds this process used to `cpu`, both
    updated every 0.1 s."""
    ready, stop = events

    async def poll_all() -> None:
        polls = [0]
        async with _session(base_url, len(urls)) as api:

            async def poll(url: str) -> None:
                while True:
                    with contextlib.suppress(aiohttp.ClientError):
                        async with api.get(url) as response:
                            await response.read()
                    polls[0] += 1
                    if polls[0] == len(urls):
                        ready.set()
                    await asyncio.sleep(every)

            tasks = [asyncio.create_task(poll(url)) for url in urls]
            while not stop.is_set():
                count.value, cpu.value = polls[0], time.process_time()
                await asyncio.sleep(0.1)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        count.value, cpu.value = polls[0], time.process_time()

    asyncio.run(poll_all())


@contextlib.asynccontextmanager
async def _polled(base_url: str, urls: list[str], every: float) -> AsyncIterator[dict[str, float]]:
    """Clients polling each URL every `every` seconds, in a process of their own, from
    POLLED_BEFORE_SECONDS after their first round until the block ends; then the requests they
    made and the CPU they used."""
    spawn = multiprocessing.get_context("spawn")
    ready, stop = spawn.Event(), spawn.Event()
    count, cpu = spawn.Value("q", 0), spawn.Value("d", 0.0)
    pollers = spawn.Process(
        target=_pollers, args=(base_url, urls, every, (ready, stop), count, cpu)
    )
    figures: dict[str, float] = {}
    if urls:
        pollers.start()
        await asyncio.to_thread(ready.wait, 120)
        await asyncio.sleep(POLLED_BEFORE_SECONDS)  # approvals wait for minutes, not for a poll
    before = (count.value, cpu.value)
    try:
        yield figures
    finally:
        if urls:
            figures.update(requests=count.value - before[0], cpu=cpu.value - before[1])
            stop.set()
            await asyncio.to_thread(pollers.join)


async def _terminate(api: aiohttp.ClientSession, status_url: str) -> None:
    async with api.post(f"/workflows/{status_url.rsplit('/', 1)[1]}/terminate") as response:
        await response.read()


async def via_http(stack: Stack, s: Scenario) -> Result:
    """As a user would: POST /start-workflow, then poll the status URL, with the long poll
    (?wait=10) or every s.poll_seconds; optionally while approvals wait and are polled too."""
    base, polls = stack.replicas[0].url, [0]
    every = None if s.waiting_approvals else s.poll_seconds
    async with _session(base, s.concurrency + s.waiting_approvals) as api:

        async def one(i: int) -> bool:
            url = await _started(api, s.workflow, s.payload(i))
            if url is None:
                return False
            return bool((await _poll(api, url, every, polls))["runtime_status"] == "COMPLETED")

        approvals = await _approvals(api, s.waiting_approvals)
        async with _polled(base, approvals, s.poll_seconds or 0.05) as pollers:
            result = await _measure(stack, s, one)
        await asyncio.gather(*(_terminate(api, url) for url in approvals))
    how = "long polls /status?wait=10" if every is None else f"polls /status every {every:g} s"
    result.note = f"{how}; {polls[0]} status requests by the measured clients"
    if approvals:
        result.cpu_by_process["pollers"] = round(pollers["cpu"], 2)
        result.note += (
            f"; {len(approvals)} approvals waiting, each polled every {s.poll_seconds or 0.05:g} s "
            f"({pollers['requests'] / result.seconds:.0f} answered/s: a poll faster than the "
            "bound waits for a fresh read, up to the idle bound)"
        )
    return result


DRIVERS: dict[str, Driver] = {"client": via_client, "http": via_http}
