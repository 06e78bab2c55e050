"""The app's one async client to the sidecar's workflow API.

A thin layer over the durabletask gRPC service that the Dapr SDK ships (``TaskHubSidecarService``),
rather than the SDK's ``aio.DaprWorkflowClient``, because the service also needs what that client
does not offer at this version: instance listing, history, CONTINUED_AS_NEW in statuses, a deadline
on every call and a channel it can close.
"""

import asyncio
import os
import time
from typing import Any

import grpc
from dapr.conf import settings as dapr_settings
from dapr.proto.common.v1 import common_pb2 as common
from dapr.proto.runtime.v1 import dapr_pb2_grpc
from dapr.proto.runtime.v1 import jobs_pb2 as jobs

from app import metrics
from app.sidecar import convert
from app.sidecar.convert import InstanceState
from app.sidecar.errors import InstanceNotFound, StoreBusy, TransientRead, classify
from app.sidecar.sdk import pb, stubs

TRANSIENT_RETRIES = 5
# Refusals that wrote nothing and may pass a moment later: retried, with backoff.
NOTHING_WRITTEN = (TransientRead, StoreBusy)
PROBE_DEADLINE = 2.0


def grpc_address() -> str:
    """The sidecar's gRPC address, from the variables the SDK and the sidecar injector use."""
    endpoint = dapr_settings.DAPR_GRPC_ENDPOINT
    if endpoint:
        return str(endpoint).removeprefix("http://").removeprefix("dns:").removeprefix("//")
    host = os.environ.get("DAPR_RUNTIME_HOST") or dapr_settings.DAPR_RUNTIME_HOST
    return f"{host}:{dapr_settings.DAPR_GRPC_PORT}"


class WorkflowClient:
    """Start, inspect and steer workflow instances. One per process, shared by all requests."""

    def __init__(self, address: str | None = None, *, timeout: float = 10.0) -> None:
        token = dapr_settings.DAPR_API_TOKEN
        self._metadata = (("dapr-api-token", token),) if token else ()
        self._timeout = timeout
        self._channel = grpc.aio.insecure_channel(address or grpc_address())
        self._stub = stubs.TaskHubSidecarServiceStub(self._channel)  # type: ignore[no-untyped-call]
        self._dapr = dapr_pb2_grpc.DaprStub(self._channel)  # type: ignore[no-untyped-call]

    async def close(self) -> None:
        await self._channel.close()

    async def _call(self, method: str, request: Any, changes: str | None = None) -> Any:
        """One unary call with a deadline, its failure typed (app/sidecar/errors.py); a transient
        store read and a store too busy to begin a transaction are retried (neither wrote
        anything). `changes` names the instance a mutating call changes: if such a call was sent
        and its answer is lost, the outcome is unknown.
        """
        for attempt in range(TRANSIENT_RETRIES + 1):
            started = time.perf_counter()
            try:
                return await getattr(self._stub, method)(
                    request, timeout=self._timeout, metadata=self._metadata
                )
            except grpc.aio.AioRpcError as error:
                failure = classify(error, changes)
                metrics.SIDECAR_ERRORS.labels(method, type(failure).__name__).inc()
                if (
                    not isinstance(failure, TransientRead | StoreBusy)
                    or attempt == TRANSIENT_RETRIES
                ):
                    raise failure from None
            finally:
                metrics.SIDECAR_DURATION.labels(method).observe(time.perf_counter() - started)
            await asyncio.sleep(0.05 * 2**attempt)
        raise AssertionError("unreachable")

    async def start(self, workflow: str, payload: Any, instance_id: str) -> str:
        request = pb.CreateInstanceRequest(
            name=workflow, instanceId=instance_id, input=convert.payload(payload)
        )
        response = await self._call("StartInstance", request, changes=instance_id)
        return str(response.instanceId)

    async def get(self, instance_id: str, *, payloads: bool = True) -> InstanceState | None:
        """The instance's state; without payloads daprd leaves out input, output, custom status
        and failure (the status, name and times stay)."""
        request = pb.GetInstanceRequest(instanceId=instance_id, getInputsAndOutputs=payloads)
        try:
            return convert.state(await self._call("GetInstance", request))
        except InstanceNotFound:
            return None

    async def wait(
        self, instance_id: str, timeout: float, *, payloads: bool = True
    ) -> InstanceState | None:
        """Block until the instance finishes (server side), or None when the timeout passes."""
        request = pb.GetInstanceRequest(instanceId=instance_id, getInputsAndOutputs=payloads)
        deadline, pause = asyncio.get_running_loop().time() + timeout, 0.1
        while (left := deadline - asyncio.get_running_loop().time()) > 0:
            try:
                response = await self._stub.WaitForInstanceCompletion(
                    request, timeout=left, metadata=self._metadata
                )
                return convert.state(response)
            except grpc.aio.AioRpcError as error:
                if error.code() == grpc.StatusCode.DEADLINE_EXCEEDED:
                    return None
                if isinstance(classify(error), InstanceNotFound):
                    return None
                # The instance's actor moved or restarted under the wait, or the sidecar is
                # away: wait again, backing off up to 2 s.
                await asyncio.sleep(min(pause, max(0.0, left)))
                pause = min(pause * 2, 2.0)
        return None

    async def raise_event(self, instance_id: str, name: str, payload: Any) -> None:
        request = pb.RaiseEventRequest(
            instanceId=instance_id, name=name, input=convert.payload(payload)
        )
        await self._call("RaiseEvent", request, changes=instance_id)

    async def terminate(self, instance_id: str, reason: str | None) -> None:
        request = pb.TerminateRequest(
            instanceId=instance_id, output=convert.payload(reason), recursive=True
        )
        await self._call("TerminateInstance", request, changes=instance_id)

    async def pause(self, instance_id: str, reason: str | None) -> None:
        request = pb.SuspendRequest(instanceId=instance_id, reason=convert.text(reason))
        await self._call("SuspendInstance", request, changes=instance_id)

    async def resume(self, instance_id: str, reason: str | None) -> None:
        request = pb.ResumeRequest(instanceId=instance_id, reason=convert.text(reason))
        await self._call("ResumeInstance", request, changes=instance_id)

    async def purge(self, instance_id: str) -> int:
        request = pb.PurgeInstancesRequest(instanceId=instance_id, recursive=True)
        response = await self._call("PurgeInstances", request, changes=instance_id)
        return int(response.deletedInstanceCount)

    async def rerun(
        self, instance_id: str, event_id: int, new_instance_id: str, input: Any, new_input: bool
    ) -> str:
        """A new instance replaying instance_id's history up to event_id, then running on."""
        request = pb.RerunWorkflowFromEventRequest(
            sourceInstanceID=instance_id,
            eventID=event_id,
            newInstanceID=new_instance_id,
            input=convert.payload(input) if new_input else None,
            overwriteInput=new_input,
        )
        response = await self._call("RerunWorkflowFromEvent", request, changes=new_instance_id)
        return str(response.newInstanceID)

    async def list_ids(self, page_size: int, token: str | None) -> tuple[list[str], str | None]:
        request = pb.ListInstanceIDsRequest(pageSize=page_size)
        if token:
            request.continuationToken = token
        response = await self._call("ListInstanceIDs", request)
        next_token = response.continuationToken if response.HasField("continuationToken") else None
        return list(response.instanceIds), next_token or None

    async def history(self, instance_id: str) -> list[dict[str, Any]]:
        response = await self._call(
            "GetInstanceHistory", pb.GetInstanceHistoryRequest(instanceId=instance_id)
        )
        return [convert.event(e) for e in response.events]

    # -- readiness probes: each answers within PROBE_DEADLINE, True when that path works now --

    async def probe_state(self, probe_id: str) -> bool:
        """The sidecar answers a workflow read (it reaches the state store)."""
        request = pb.GetInstanceRequest(instanceId=probe_id)
        return await self._probe(self._stub.GetInstance, request) is not None

    async def probe_actors(self, probe_id: str) -> bool:
        """A workflow actor answers now: placement finds it and it activates. A purge of an
        instance that does not exist takes that path and is refused; nothing is stored, and
        daprd logs the refusal at debug level (an event raised there instead logs an ERROR at
        every probe). No instance can have the probe's id: the API's ids start with a letter or
        a digit."""
        request = pb.PurgeInstancesRequest(instanceId=probe_id)
        return await self._probe(self._stub.PurgeInstances, request) is not None

    async def probe_scheduler(self, name: str) -> bool:
        """A job scheduled and deleted: the scheduler path every timer, reminder and event takes.

        If the delete fails, what is left is harmless: one job per process (each probe overwrites
        it under the same name), a one-shot that fires once an hour later to no handler and is
        then dropped, not retried. (The scheduler allows a ttl only on jobs with a schedule.)
        """
        drop = common.JobFailurePolicy(drop=common.JobFailurePolicyDrop())
        job = jobs.Job(name=name, due_time="1h", failure_policy=drop)
        scheduled = jobs.ScheduleJobRequest(job=job, overwrite=True)
        return (
            await self._probe(self._dapr.ScheduleJob, scheduled) is not None
            and await self._probe(self._dapr.DeleteJob, jobs.DeleteJobRequest(name=name))
            is not None
        )

    async def _probe(self, method: Any, request: Any) -> Any:
        """The answer within the probe deadline, or None; "no such instance" is an answer."""
        timeout = min(PROBE_DEADLINE, self._timeout)
        try:
            return await method(request, timeout=timeout, metadata=self._metadata)
        except grpc.aio.AioRpcError as error:
            return error.details() if isinstance(classify(error), InstanceNotFound) else None
