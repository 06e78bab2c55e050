"""The sidecar's protobuf messages as plain values: instance states, payloads, history events."""

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from google.protobuf import json_format, wrappers_pb2
from google.protobuf.timestamp_pb2 import Timestamp

from app.sidecar.sdk import pb, status_name

TERMINAL = frozenset({"COMPLETED", "FAILED", "TERMINATED"})


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
    # The code it runs, as its history records it (code_of); read only for /status.
    version: str | None = None
    patches: tuple[str, ...] = ()

    @property
    def finished(self) -> bool:
        return self.runtime_status in TERMINAL


def code_of(events: list[dict[str, Any]]) -> tuple[str | None, tuple[str, ...]]:
    """The workflow version an instance runs and the patches it has taken, from its history
    (as event() gives it): the worker reports both with each step, and the sidecar records
    them on that step's workflowStarted event."""
    version: str | None = None
    patches: dict[str, None] = {}  # in the order taken
    for e in events:
        if e["kind"] == "workflowStarted":
            recorded = e["details"].get("version") or {}
            version = recorded.get("name") or version
            patches.update(dict.fromkeys(recorded.get("patches") or ()))
    return version, tuple(patches)


# Free-form JSON nests at most this many levels of lists and objects, both ways: the API refuses
# a deeper payload, and one read from the sidecar (a workflow's own output, say) is passed on as
# its JSON text. Far deeper, Python's recursion limit stops encoding and decoding it.
MAX_PAYLOAD_DEPTH = 64
# An escaped UTF-16 surrogate: the only way JSON text spells a string that may not be Unicode.
_SURROGATE = re.compile(r"\\u[dD][89a-fA-F]")


def nesting(value: Any) -> int:
    """How many levels of lists and objects a JSON value nests (a scalar: 0), found without
    recursion."""
    level, depth = [value], 0
    while level := [
        item
        for v in level
        if isinstance(v, dict | list)
        for item in (v.values() if isinstance(v, dict) else v)
    ]:
        depth += 1
    return depth


def _json(value: wrappers_pb2.StringValue, present: bool) -> Any:
    """Payloads travel as JSON strings; the API returns them as JSON values. One it could not
    pass on as JSON (not JSON, nested deeper than MAX_PAYLOAD_DEPTH, or a string with a lone
    surrogate, which is not Unicode) is passed on as its text."""
    if not present or not value.value:
        return None
    text = value.value
    try:
        decoded = json.loads(text)
    except (ValueError, RecursionError):
        return text
    brackets = text.count("[") + text.count("{")  # a bound on the nesting, cheap to find
    if brackets > MAX_PAYLOAD_DEPTH and nesting(decoded) > MAX_PAYLOAD_DEPTH:
        return text
    if _SURROGATE.search(text):
        try:
            json.dumps(decoded, ensure_ascii=False).encode()
        except UnicodeEncodeError:
            return text
    return decoded


def _time(stamp: Timestamp, present: bool) -> datetime | None:
    return stamp.ToDatetime(tzinfo=UTC) if present and stamp.seconds else None


def state(response: Any) -> InstanceState | None:
    if not response.exists:
        return None
    s = response.workflowState
    failure = None
    if s.HasField("failureDetails"):
        failure = {"type": s.failureDetails.errorType, "message": s.failureDetails.errorMessage}
    return InstanceState(
        instance_id=s.instanceId,
        workflow=s.name,
        runtime_status=status_name(s.workflowStatus),
        created_at=_time(s.createdTimestamp, s.HasField("createdTimestamp")),
        last_updated_at=_time(s.lastUpdatedTimestamp, s.HasField("lastUpdatedTimestamp")),
        input=_json(s.input, s.HasField("input")),
        output=_json(s.output, s.HasField("output")),
        custom_status=_json(s.customStatus, s.HasField("customStatus")),
        failure=failure,
    )


def text(value: str | None) -> wrappers_pb2.StringValue | None:
    return None if value is None else wrappers_pb2.StringValue(value=value)


def payload(value: Any) -> wrappers_pb2.StringValue | None:
    return None if value is None else wrappers_pb2.StringValue(value=json.dumps(value))


def event(event: Any) -> dict[str, Any]:
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


def history_event(value: dict[str, Any]) -> Any:
    """The inverse of event(): a history event as the API gave it, as the sidecar's message
    again (for replaying a history fetched through the API, tools/replay.py)."""
    message = pb.HistoryEvent(eventId=value["event_id"])
    if value.get("timestamp"):
        message.timestamp.FromJsonString(str(value["timestamp"]).replace("+00:00", "Z"))
    fields = dict(value.get("details") or {})
    if value.get("name") is not None:
        fields["name"] = value["name"]
    body = getattr(message, value["kind"])
    body.SetInParent()  # an event of no fields (workflowStarted) is still of its kind
    json_format.ParseDict(fields, body, ignore_unknown_fields=True)
    return message
