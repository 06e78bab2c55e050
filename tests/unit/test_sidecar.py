"""The sidecar client's typed errors and its retry of daprd's transient store reads."""

import asyncio
from typing import Any

import grpc
import pytest

from app.sidecar import (
    InstanceActive,
    InstanceExists,
    InstanceNotFound,
    InvalidToken,
    OutcomeUnknown,
    SidecarRejected,
    SidecarUnavailable,
    WorkflowClient,
)
from app.sidecar.errors import StoreBusy, classify


def rpc_error(code: grpc.StatusCode, details: str) -> grpc.aio.AioRpcError:
    return grpc.aio.AioRpcError(code, grpc.aio.Metadata(), grpc.aio.Metadata(), details)


class FlakyStub:
    def __init__(self, *errors: grpc.aio.AioRpcError) -> None:
        self.errors = list(errors)
        self.calls = 0

    async def PurgeInstances(self, request: Any, **_: Any) -> Any:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return type("Response", (), {"deletedInstanceCount": 1})()


def purge_with(stub: FlakyStub) -> int:
    async def purge() -> int:
        client = WorkflowClient("127.0.0.1:1")
        client._stub = stub  # type: ignore[assignment]
        try:
            return await client.purge("x")
        finally:
            await client.close()

    return asyncio.run(purge())


TRANSIENT = (
    "workflow 'x': inbox key 'inbox-000000' declared in metadata (inboxLength=1) but "
    "missing from state store (transient store read failure or partial save?)"
)


def test_transient_store_read_is_retried() -> None:
    stub = FlakyStub(
        rpc_error(grpc.StatusCode.UNKNOWN, TRANSIENT), rpc_error(grpc.StatusCode.UNKNOWN, TRANSIENT)
    )
    assert purge_with(stub) == 1
    assert stub.calls == 3


def test_persistent_transient_error_becomes_unavailable() -> None:
    stub = FlakyStub(*[rpc_error(grpc.StatusCode.UNKNOWN, TRANSIENT)] * 10)
    with pytest.raises(SidecarUnavailable):
        purge_with(stub)


def test_store_failing_the_load_is_retried_then_unavailable_not_a_rejection() -> None:
    # As daprd says it when its pooled connection died with a killed PostgreSQL.
    lost = "failed to load workflow metadata: unexpected EOF"
    stub = FlakyStub(rpc_error(grpc.StatusCode.UNKNOWN, lost))
    assert purge_with(stub) == 1 and stub.calls == 2
    stub = FlakyStub(*[rpc_error(grpc.StatusCode.UNKNOWN, lost)] * 10)
    with pytest.raises(SidecarUnavailable):
        purge_with(stub)


BUSY = "failed to begin transaction: database is locked (5) (SQLITE_BUSY)"


def test_a_store_too_busy_to_begin_is_retried_then_unavailable_not_a_rejection() -> None:
    stub = FlakyStub(rpc_error(grpc.StatusCode.UNKNOWN, BUSY))
    assert purge_with(stub) == 1 and stub.calls == 2
    stub = FlakyStub(*[rpc_error(grpc.StatusCode.UNKNOWN, BUSY)] * 10)
    with pytest.raises(SidecarUnavailable, match="database is locked"):
        purge_with(stub)
    assert stub.calls == 6


def test_a_change_meeting_a_busy_store_past_the_begin_has_an_unknown_outcome() -> None:
    # Only a transaction that never began is known to have written nothing: never a 502.
    stub = FlakyStub(rpc_error(grpc.StatusCode.UNKNOWN, "commit: database is locked"))
    with pytest.raises(OutcomeUnknown) as unknown:
        purge_with(stub)
    assert unknown.value.instance_id == "x" and stub.calls == 1


def test_a_read_meeting_a_busy_store_is_retried() -> None:
    details = "failed to get state: database is locked (5) (SQLITE_BUSY)"
    error = rpc_error(grpc.StatusCode.UNKNOWN, details)
    assert isinstance(classify(error), StoreBusy)
    assert isinstance(classify(error, changes="x"), OutcomeUnknown)


def test_unreachable_sidecar_is_unavailable_without_retry() -> None:
    stub = FlakyStub(rpc_error(grpc.StatusCode.UNAVAILABLE, "connection refused"))
    with pytest.raises(SidecarUnavailable):
        purge_with(stub)
    assert stub.calls == 1


def test_unrecognised_refusal_is_a_rejection_with_daprds_words() -> None:
    stub = FlakyStub(rpc_error(grpc.StatusCode.UNKNOWN, "something else"))
    with pytest.raises(SidecarRejected, match="something else"):
        purge_with(stub)


def test_change_whose_answer_is_lost_has_an_unknown_outcome() -> None:
    stub = FlakyStub(rpc_error(grpc.StatusCode.DEADLINE_EXCEEDED, "Deadline Exceeded"))
    with pytest.raises(OutcomeUnknown) as unknown:
        purge_with(stub)
    assert unknown.value.instance_id == "x"
    assert stub.calls == 1


def test_connection_dropped_after_sending_a_change_is_an_unknown_outcome() -> None:
    stub = FlakyStub(rpc_error(grpc.StatusCode.UNAVAILABLE, "Socket closed"))
    with pytest.raises(OutcomeUnknown):
        purge_with(stub)


def test_change_that_timed_out_inside_the_sidecar_has_an_unknown_outcome() -> None:
    details = "error scheduling reminder job new-event-1 due to: context canceled"
    stub = FlakyStub(rpc_error(grpc.StatusCode.UNKNOWN, details))
    with pytest.raises(OutcomeUnknown):
        purge_with(stub)


class Stub:
    """Answers every call with one error."""

    def __init__(self, error: grpc.aio.AioRpcError) -> None:
        self.error = error

    def __getattr__(self, method: str) -> Any:
        async def call(request: Any, **_: Any) -> Any:
            raise self.error

        return call


def with_client(error: grpc.aio.AioRpcError, use: Any) -> Any:
    async def run() -> Any:
        client = WorkflowClient("127.0.0.1:1")
        client._stub = Stub(error)  # type: ignore[assignment]
        try:
            return await use(client)
        finally:
            await client.close()

    return asyncio.run(run())


NOT_FOUND = rpc_error(grpc.StatusCode.UNKNOWN, "no such instance exists: 'x'")


def test_unknown_instance_reads_as_none_in_get_and_wait() -> None:
    assert with_client(NOT_FOUND, lambda c: c.get("x")) is None
    assert with_client(NOT_FOUND, lambda c: c.wait("x", timeout=30)) is None


def test_unknown_instance_in_a_change_is_instance_not_found() -> None:
    with pytest.raises(InstanceNotFound):
        with_client(NOT_FOUND, lambda c: c.raise_event("x", "e", None))


@pytest.mark.parametrize(
    "details",
    [
        "an active workflow with ID 'x' already exists",
        "workflow 'x' is awaiting an activity result",
    ],
)
def test_start_on_an_id_still_in_use_is_instance_active(details: str) -> None:
    error = rpc_error(grpc.StatusCode.UNKNOWN, details)
    with pytest.raises(InstanceActive):
        with_client(error, lambda c: c.start("task_chaining", {}, "x"))


def test_rerun_into_a_taken_id_is_instance_exists() -> None:
    # daprd 1.18.2 (orchestrator/rerun.go): codes.AlreadyExists, "... has already been created".
    error = rpc_error(grpc.StatusCode.ALREADY_EXISTS, "workflow 'y' has already been created")
    with pytest.raises(InstanceExists) as taken:
        with_client(error, lambda c: c.rerun("x", 1, "y", None, False))
    assert not isinstance(taken.value, InstanceActive)


def test_a_missing_history_and_a_bad_continuation_token_are_told_apart() -> None:
    missing = rpc_error(grpc.StatusCode.NOT_FOUND, "workflow instance 'x' not found")
    assert isinstance(classify(missing), InstanceNotFound)  # GetInstanceHistory's words
    token = 'invalid continue token: strconv.ParseInt: parsing "oops": invalid syntax'
    assert isinstance(classify(rpc_error(grpc.StatusCode.UNKNOWN, token)), InvalidToken)
