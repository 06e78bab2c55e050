"""The sidecar stand-in with listing, history and rerun: for the pages and their API."""

from datetime import UTC, datetime, timedelta
from typing import Any

from app.sidecar import InstanceState
from tests.unit.fakes import FakeClient

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def event(event_id: int, kind: str, at: float, name: str | None = None, **details: Any) -> Any:
    return {
        "event_id": event_id,
        "kind": kind,
        "timestamp": T0 + timedelta(seconds=at),
        "name": name,
        "details": details,
    }


APPROVAL_HISTORY = [
    event(-1, "orchestratorStarted", 0),
    event(0, "executionStarted", 0, "purchase_approval"),
    event(1, "taskScheduled", 0.1, "request_approval"),
    event(-1, "taskCompleted", 0.4, taskScheduledId=1),
    event(2, "timerCreated", 0.5, fireAt="2026-01-01T00:10:00Z", createTimer={}),
    event(3, "timerCreated", 0.5, fireAt="9999-12-31T23:59:59Z", externalEvent={"name": "ok"}),
    event(-1, "eventRaised", 3.0, "ok"),
    event(4, "taskScheduled", 3.1, "place_order"),
    event(-1, "taskCompleted", 3.3, taskScheduledId=4),
    event(5, "executionCompleted", 3.4, workflowStatus="ORCHESTRATION_STATUS_COMPLETED"),
]


class PagesFake(FakeClient):
    def __init__(self) -> None:
        super().__init__()
        self.histories: dict[str, list[dict[str, Any]]] = {}

    def add(self, instance_id: str, workflow: str, status: str, **fields: Any) -> None:
        values = {
            "created_at": T0,
            "last_updated_at": T0,
            "input": None,
            "output": None,
            "custom_status": None,
            "failure": None,
            **fields,
        }
        self.states[instance_id] = InstanceState(instance_id, workflow, status, **values)

    async def list_ids(self, page_size: int, token: str | None) -> tuple[list[str], str | None]:
        ids = sorted(self.states)
        start = int(token or 0)
        end = start + page_size
        return ids[start:end], (str(end) if end < len(ids) else None)

    async def history(self, instance_id: str) -> list[dict[str, Any]]:
        return self.histories.get(instance_id, [])
