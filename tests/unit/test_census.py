"""The census of unfinished instances (/metrics): counted per workflow and status, the oldest
change per workflow, every page of the store walked, what a census no longer sees dropped."""

import asyncio
from datetime import timedelta

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
