"""Everything the app knows about how daprd and gRPC say no, turned into typed exceptions.

No other module matches a sidecar's words: callers catch these classes.
"""

import re

import grpc


class SidecarUnavailable(Exception):
    """The request was not applied (never sent, or refused before it took effect): retry."""


class TransientRead(SidecarUnavailable):
    """daprd failed a state read that raced a write; nothing was written: it may be retried."""


class StoreBusy(SidecarUnavailable):
    """The state store was too busy to begin a transaction (SQLite's lock, held by another
    writer past its busy timeout): nothing was written; it may be retried."""


class OutcomeUnknown(Exception):
    """A change was sent but its answer did not come in time: it may or may not have happened."""

    def __init__(self, instance_id: str, details: str) -> None:
        super().__init__(details)
        self.instance_id = instance_id


class SidecarRejected(Exception):
    """The sidecar refused the request (the message says why)."""


class InstanceNotFound(SidecarRejected):
    """No instance has that id."""


class InvalidToken(SidecarRejected):
    """A continuation token the store cannot read (not one a listing gave)."""


class InstanceExists(SidecarRejected):
    """The id belongs to an instance, running or finished (a rerun into a taken id)."""


class InstanceActive(InstanceExists):
    """The id belongs to an instance that is still active (a start racing another, or a
    terminate still settling)."""


# daprd 1.18 reads a workflow's metadata and its inbox/history keys in two steps; a save between
# them makes the load fail with the first message, before anything is written. It asks to be
# retried. The second is the same load failing in the store itself (LoadWorkflowState), as when
# daprd's pooled connection died with a killed PostgreSQL: also before anything is written.
_TRANSIENT_READ = ("transient store read failure", "failed to load workflow metadata")
# SQLite's lock held by another writer past the component's busyTimeout. When the call's
# transaction never began (components-contrib's words, then the driver's), or the call only reads,
# nothing was written; a change that met the lock anywhere else may have written part of itself.
_NO_TRANSACTION = "failed to begin transaction"
_BUSY = ("database is locked", "SQLITE_BUSY")
# The first from most calls, the second from GetInstanceHistory.
_NOT_FOUND = re.compile(r"no such instance|workflow instance '.*' not found")
_BAD_TOKEN = "invalid continue token"  # the stores' words (components-contrib)
_ID_IN_USE = ("already exists", "awaiting an activity result")
# A rerun into an id that any instance has, finished or not.
_ID_TAKEN = "has already been created"
# gRPC's words for a call that never left this process: no connection could be made.
_NOT_SENT = ("failed to connect", "connection refused", "connections to all backends failing")
# daprd's words when a call it made on our behalf (to the scheduler, to an actor) ran out of time.
_TIMED_OUT = ("context canceled", "context deadline exceeded")


def classify(error: grpc.aio.AioRpcError, changes: str | None = None) -> Exception:
    """The typed exception for a failed call. `changes` names the instance a mutating call
    changes: if such a call was sent and its answer is lost, the outcome is unknown."""
    details = error.details() or str(error.code())
    if changes is not None and _maybe_applied(error):
        return OutcomeUnknown(changes, details)
    if error.code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
        return SidecarUnavailable(details)
    if any(marker in details for marker in _TRANSIENT_READ):
        return TransientRead(details)
    if any(marker in details for marker in _BUSY):
        if changes is None or _NO_TRANSACTION in details:
            return StoreBusy(details)
        return OutcomeUnknown(changes, details)
    if _NOT_FOUND.search(details):
        return InstanceNotFound(details)
    if _BAD_TOKEN in details:
        return InvalidToken(details)
    if any(marker in details for marker in _ID_IN_USE):
        return InstanceActive(details)
    if _ID_TAKEN in details:
        return InstanceExists(details)
    return SidecarRejected(details)


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
