"""The census of unfinished instances (/metrics): counted per workflow and status, the oldest
change per workflow, every page of the store walked, what a census no longer sees dropped."""

import asyncio
from datetime import UTC, datetime, timedelta

from prometheus_client import REGISTRY

from app.api.catalogue import CATALOG
from app.api.census import Census
from tests.unit.fakes import T0, PagesFake


def value(name: str, **labels: str) -> float | None:
    return REGISTRY.get_sample_value(name, labels)


def test_a_census_counts_the_unfinished_and_dates_the_oldest_change() -> None:
    fake = PagesFake()
    for n in range(250):  # three store pages
        fake.add(
            f"po-{n:03d}", "purchase_approval", "RUNNING", last_updated_at=T0 + timedelta(minutes=n)
        )
    fake.add("paused", "purchase_approval", "SUSPENDED", last_updated_at=T0)
    fake.add("done", "task_chaining", "COMPLETED")
    fake.add("paused-chain", "task_chaining", "SUSPENDED", last_updated_at=T0)
    fake.add("alien", "someone_elses", "RUNNING", last_updated_at=T0 - timedelta(days=1))
    census = Census(fake, asyncio.Semaphore(1), CATALOG)
    assert asyncio.run(census.take()) == 253
    assert (
        value("workflow_instances_unfinished", workflow="purchase_approval", status="RUNNING")
        == 250
    )
    assert (
        value("workflow_instances_unfinished", workflow="purchase_approval", status="SUSPENDED")
        == 1
    )
    assert value("workflow_instances_unfinished", workflow="other", status="RUNNING") == 1
    assert (
        value("workflow_instances_unfinished", workflow="task_chaining", status="COMPLETED") is None
    )
    assert (
        value("workflow_oldest_unchanged_timestamp_seconds", workflow="purchase_approval")
        == T0.timestamp()
    )
    # a paused instance waits for a person by design: counted, but no stuck one
    assert value("workflow_instances_unfinished", workflow="task_chaining", status="SUSPENDED") == 1
    assert value("workflow_oldest_unchanged_timestamp_seconds", workflow="task_chaining") is None
    assert (value("workflow_census_timestamp_seconds") or 0) > 0

    for n in range(250):
        fake.add(f"po-{n:03d}", "purchase_approval", "COMPLETED")
    fake.states.pop("paused")
    fake.states.pop("paused-chain")
    assert asyncio.run(census.take()) == 1
    assert (
        value("workflow_instances_unfinished", workflow="purchase_approval", status="RUNNING")
        is None
    )
    assert (
        value("workflow_oldest_unchanged_timestamp_seconds", workflow="purchase_approval") is None
    )


def test_a_census_dates_the_earliest_deadline_of_a_wait() -> None:
    fake = PagesFake()

    def waiting(deadline: str) -> dict[str, object]:
        return {"waiting_for": "approval_received", "deadline": deadline}

    fake.add("later", "purchase_approval", "RUNNING", custom_status=waiting("2030-01-02T00:00:00"))
    fake.add("soon", "purchase_approval", "RUNNING", custom_status=waiting("2030-01-01T00:00:00Z"))
    # paused, decided, unreadable, or a workflow that names no deadline: none of them
    fake.add("paused", "purchase_approval", "SUSPENDED", custom_status=waiting("2020-01-01T00:00"))
    decided = {"waiting_for": None, "deadline": "2020-01-01T00:00:00"}
    fake.add("decided", "purchase_approval", "RUNNING", custom_status=decided)
    fake.add("garbled", "purchase_approval", "RUNNING", custom_status=waiting("tomorrow"))
    fake.add("chain", "task_chaining", "RUNNING", custom_status={"done": 1, "total": 3})
    asyncio.run(Census(fake, asyncio.Semaphore(1), CATALOG).take())
    earliest = datetime(2030, 1, 1, tzinfo=UTC).timestamp()
    deadline = "workflow_earliest_deadline_timestamp_seconds"
    assert value(deadline, workflow="purchase_approval") == earliest
    assert value(deadline, workflow="task_chaining") is None
