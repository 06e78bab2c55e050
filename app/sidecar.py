"""The app's one async client to the sidecar's workflow API.

A thin layer over the durabletask gRPC service that the Dapr SDK ships (``TaskHubSidecarService``),
rather than the SDK's ``aio.DaprWorkflowClient``, because the service also needs what that client
does not offer at this version: instance listing, history, CONTINUED_AS_NEW in statuses, a deadline
on every call and a channel it can close.
"""

import asyncio
import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

import grpc
from dapr.conf import settings as dapr_settings
from dapr.ext.workflow._durabletask.internal import orchestrator_service_pb2_grpc as stubs
from dapr.ext.workflow._durabletask.internal import protos as pb
from dapr.proto.runtime.v1 import dapr_pb2_grpc
from dapr.proto.runtime.v1 import jobs_pb2 as jobs
from google.protobuf import json_format, wrappers_pb2
from google.protobuf.timestamp_pb2 import Timestamp

TERMINAL = frozenset({"COMPLETED", "FAILED", "TERMINATED"})
# daprd 1.18 reads a workflow's metadata and its inbox/history keys in two steps; a save between
# them makes the load fail with this message, before anything is written. It asks to be retried.
TRANSIENT_READ = "transient store read failure"
TRANSIENT_RETRIES = 5


class SidecarUnavailable(Exception):
    """The request was not applied (never sent, or refused before it took effect): retry."""


class OutcomeUnknown(Exception):
    """A change was sent but its answer did not come in time: it may or may not have happened."""

    def __init__(self, instance_id: str, details: str) -> None:
        super().__init__(details)
        self.instance_id = instance_id


class SidecarRejected(Exception):
    """The sidecar refused the request (the message says why)."""


# gRPC's words for a call that never left this process: no connection could be made.
_NOT_SENT = ("failed to connect", "connection refused", "connections to all backends failing")
# daprd's words when a call it made on our behalf (to the scheduler, to an actor) ran out of time.
_TIMED_OUT = ("context canceled", "context deadline exceeded")
PROBE_DEADLINE = 2.0


@dataclass(frozen=True)
class InstanceState:
    instance_id: str
    workflow: str
    runtime_status: str
    created_at: datetime | None
    last_updated_at: datetime | None
    input: Any
    output: Any
    custom_status: Any
    failure: dict[str, str] | None

    @property
    def finished(self) -> bool:
        return self.runtime_status in TERMINAL


def grpc_address() -> str:
    """The sidecar's gRPC address, from the variables the SDK and the sidecar injector use."""
    endpoint = dapr_settings.DAPR_GRPC_ENDPOINT
    if endpoint:
        return str(endpoint).removeprefix("http://").removeprefix("dns:").removeprefix("//")
    host = os.environ.get("DAPR_RUNTIME_HOST") or dapr_settings.DAPR_RUNTIME_HOST
    return f"{host}:{dapr_settings.DAPR_GRPC_PORT}"


def _json(value: wrappers_pb2.StringValue, present: bool) -> Any:
    """Payloads travel as JSON strings; the API returns them as JSON values."""
    if not present or not value.value:
        return None
    try:
        return json.loads(value.value)
    except ValueError:
        return value.value


def _time(stamp: Timestamp, present: bool) -> datetime | None:
    return stamp.ToDatetime(tzinfo=UTC) if present and stamp.seconds else None


def _state(response: Any) -> InstanceState | None:
    if not response.exists:
        return None
    s = response.workflowState
    failure = None
    if s.HasField("failureDetails"):
        failure = {"type": s.failureDetails.errorType, "message": s.failureDetails.errorMessage}
    return InstanceState(
        instance_id=s.instanceId,
        workflow=s.name,
        runtime_status=pb.OrchestrationStatus.Name(s.workflowStatus).removeprefix(
            "ORCHESTRATION_STATUS_"
        ),
        created_at=_time(s.createdTimestamp, s.HasField("createdTimestamp")),
        last_updated_at=_time(s.lastUpdatedTimestamp, s.HasField("lastUpdatedTimestamp")),
        input=_json(s.input, s.HasField("input")),
        output=_json(s.output, s.HasField("output")),
        custom_status=_json(s.customStatus, s.HasField("customStatus")),
        failure=failure,
    )


def _text(value: str | None) -> wrappers_pb2.StringValue | None:
    return None if value is None else wrappers_pb2.StringValue(value=value)


def _payload(value: Any) -> wrappers_pb2.StringValue | None:
    return None if value is None else wrappers_pb2.StringValue(value=json.dumps(value))


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
        """One unary call with a deadline; a transient store read is retried (it wrote nothing).

        `changes` names the instance a mutating call changes: if such a call was sent and its
        answer is lost, the outcome is unknown rather than "not done".
        """
        for attempt in range(TRANSIENT_RETRIES + 1):
            try:
                return await getattr(self._stub, method)(
                    request, timeout=self._timeout, metadata=self._metadata
                )
            except grpc.aio.AioRpcError as error:
                details = error.details() or str(error.code())
                if changes is not None and _maybe_applied(error):
                    raise OutcomeUnknown(changes, details) from None
                if error.code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
                    raise SidecarUnavailable(details) from None
                if TRANSIENT_READ not in details:
                    raise SidecarRejected(details) from None
                if attempt == TRANSIENT_RETRIES:
                    raise SidecarUnavailable(details) from None
                await asyncio.sleep(0.05 * 2**attempt)
        raise AssertionError("unreachable")

    async def start(self, workflow: str, payload: Any, instance_id: str) -> str:
        request = pb.CreateInstanceRequest(
            name=workflow, instanceId=instance_id, input=_payload(payload)
        )
        response = await self._call("StartInstance", request, changes=instance_id)
        return str(response.instanceId)

    async def get(self, instance_id: str) -> InstanceState | None:
        request = pb.GetInstanceRequest(instanceId=instance_id, getInputsAndOutputs=True)
        try:
            return _state(await self._call("GetInstance", request))
        except SidecarRejected as error:
            if "no such instance" in str(error):
                return None
            raise

    async def wait(
        self, instance_id: str, timeout: float, *, payloads: bool = True
    ) -> InstanceState | None:
        """Block until the instance finishes (server side), or None when the timeout passes."""
        request = pb.GetInstanceRequest(instanceId=instance_id, getInputsAndOutputs=payloads)
        deadline = asyncio.get_running_loop().time() + timeout
        while (left := deadline - asyncio.get_running_loop().time()) > 0:
            try:
                response = await self._stub.WaitForInstanceCompletion(
                    request, timeout=left, metadata=self._metadata
                )
                return _state(response)
            except grpc.aio.AioRpcError as error:
                if error.code() == grpc.StatusCode.DEADLINE_EXCEEDED:
                    return None
                # The instance's actor moved or restarted under the wait: wait again.
                await asyncio.sleep(0.1)
        return None

    async def raise_event(self, instance_id: str, name: str, payload: Any) -> None:
        request = pb.RaiseEventRequest(instanceId=instance_id, name=name, input=_payload(payload))
        await self._call("RaiseEvent", request, changes=instance_id)

    async def terminate(self, instance_id: str, reason: str | None) -> None:
        request = pb.TerminateRequest(
            instanceId=instance_id, output=_payload(reason), recursive=True
        )
        await self._call("TerminateInstance", request, changes=instance_id)

    async def pause(self, instance_id: str, reason: str | None) -> None:
        request = pb.SuspendRequest(instanceId=instance_id, reason=_text(reason))
        await self._call("SuspendInstance", request, changes=instance_id)

    async def resume(self, instance_id: str, reason: str | None) -> None:
        request = pb.ResumeRequest(instanceId=instance_id, reason=_text(reason))
        await self._call("ResumeInstance", request, changes=instance_id)

    async def purge(self, instance_id: str) -> int:
        request = pb.PurgeInstancesRequest(instanceId=instance_id, recursive=True)
        response = await self._call("PurgeInstances", request, changes=instance_id)
        return int(response.deletedInstanceCount)

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
        return [_event(e) for e in response.events]

    # -- readiness probes: each answers within PROBE_DEADLINE, True when that path works now --

    async def probe_state(self, probe_id: str) -> bool:
        """The sidecar answers a workflow read (it reaches the state store)."""
        request = pb.GetInstanceRequest(instanceId=probe_id)
        return await self._probe(self._stub.GetInstance, request) is not None

    async def probe_actors(self, probe_id: str) -> bool:
        """A workflow actor answers now: placement finds it and it activates. An event for an
        instance that does not exist takes that path and is refused; nothing is stored."""
        request = pb.RaiseEventRequest(instanceId=probe_id, name="readyz")
        return await self._probe(self._stub.RaiseEvent, request) is not None

    async def probe_scheduler(self, name: str) -> bool:
        """A job scheduled and deleted: the scheduler path every timer, reminder and event takes."""
        job = jobs.Job(name=name, due_time="1h")
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
            return error.details() if "no such instance" in (error.details() or "") else None


def _maybe_applied(error: grpc.aio.AioRpcError) -> bool:
    """A change that reached the sidecar and then failed on time may have been applied: daprd
    stores an event before it schedules its reminder, and a reminder that times out does not
    take the event back."""
    details = (error.details() or "").lower()
    if error.code() == grpc.StatusCode.UNAVAILABLE:
        return not any(marker in details for marker in _NOT_SENT)
    return error.code() == grpc.StatusCode.DEADLINE_EXCEEDED or any(
        marker in details for marker in _TIMED_OUT
    )


def _event(event: Any) -> dict[str, Any]:
    """One history event as plain JSON: its kind, id, time and the fields of that kind."""
    kind = event.WhichOneof("eventType")
    body = json_format.MessageToDict(getattr(event, kind)) if kind else {}
    return {
        "event_id": event.eventId,
        "kind": kind,
        "timestamp": _time(event.timestamp, event.HasField("timestamp")),
        "name": body.pop("name", None),
        "details": body,
    }


class Sidecar(Protocol):
    """What the app asks of the sidecar: app.sidecar.WorkflowClient, or a stand-in in tests."""

    async def close(self) -> None: ...
    async def start(self, workflow: str, payload: Any, instance_id: str) -> str: ...
    async def get(self, instance_id: str) -> InstanceState | None: ...
    async def wait(
        self, instance_id: str, timeout: float, *, payloads: bool = True
    ) -> InstanceState | None: ...
    async def raise_event(self, instance_id: str, name: str, payload: Any) -> None: ...
    async def terminate(self, instance_id: str, reason: str | None) -> None: ...
    async def pause(self, instance_id: str, reason: str | None) -> None: ...
    async def resume(self, instance_id: str, reason: str | None) -> None: ...
    async def purge(self, instance_id: str) -> int: ...
    async def list_ids(self, page_size: int, token: str | None) -> tuple[list[str], str | None]: ...
    async def history(self, instance_id: str) -> list[dict[str, Any]]: ...
    async def probe_state(self, probe_id: str) -> bool: ...
    async def probe_actors(self, probe_id: str) -> bool: ...
    async def probe_scheduler(self, name: str) -> bool: ...
