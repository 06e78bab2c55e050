"""The same Tiltfile with `-- --store postgres`, after the Redis deployment is down: workflows
on the state.postgresql store through Tilt's forward, the PostgreSQL pod deleted while an approval
waits (the volume claim keeps the state), then `tilt down`.

The tests run in file order, on one deployment (this module's `tilt` fixture).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.e2e.calls import (
    completed_and_waiting,
    finished,
    kept_across_a_store_restart,
    start,
    task,
    uid,
)
from tests.e2e.conftest import (
    Tilt,
    deployed,
    kubectl,
    note,
    run,
    tilt_down_leaves_nothing,
    timed,
    wait_until,
)

pytestmark = pytest.mark.e2e
POSTGRES = "app=postgres"
LABEL = "org.opencontainers.image.description"


@pytest.fixture(scope="module")
def tilt() -> Iterator[Tilt]:
    what = "Dapr control plane, PostgreSQL, Jaeger, components, the service"
    with deployed("--store", "postgres", what=what) as session:
        yield session


def _postgres_pods() -> list[dict[str, Any]]:
    return list(json.loads(kubectl("get", "pods", "-l", POSTGRES, "-o", "json"))["items"])


def test_workflows_run_on_the_postgresql_store(api: httpx.Client) -> None:
    with timed("check (postgres): the store is state.postgresql, a chain completes"):
        store = kubectl("get", "components.dapr.io", "statestore", "-o", "jsonpath={.spec.type}")
        assert store == "state.postgresql"
        instance = uid("chain")
        start(api, "task_chaining", task(instance), instance)
        assert finished(api, instance)["runtime_status"] == "COMPLETED"
    image = kubectl("get", "deployment", "postgres", "-o",
                    "jsonpath={.spec.template.spec.containers[0].image}")
    # Where the cluster is this machine's, its stand-in says so in a label; elsewhere the
    # official image has none.
    label = run("docker", "image", "inspect", "--format", f'{{{{index .Config.Labels "{LABEL}"}}}}',
                image, check=False).strip()
    server = kubectl("exec", "deployment/postgres", "--", "postgres", "--version").strip()
    note(f"PostgreSQL image {image}: {label or 'no stand-in label'}; the pod runs {server}")


def test_postgres_pod_deleted_while_an_approval_waits_loses_nothing(api: httpx.Client) -> None:
    with timed("fault (postgres): PostgreSQL pod deleted while an approval waits"):
        done, waiting = completed_and_waiting(api)
        [old] = [p["metadata"]["name"] for p in _postgres_pods()]
        kubectl("delete", "pod", old, "--wait=true", timeout=180)

        def replaced() -> bool:
            return any(p["metadata"]["name"] != old and p["status"].get("containerStatuses")
                       and all(c["ready"] for c in p["status"]["containerStatuses"])
                       for p in _postgres_pods())

        wait_until("a new PostgreSQL pod ready", replaced, 180)
        took = kept_across_a_store_restart(api, done, waiting)
        note(f"PostgreSQL pod deleted (data on the claim postgres-data): a completed instance "
             f"and a waiting approval kept; the approval completed "
             f"{took:.1f}s after the new pod was ready")


def test_tilt_down_removes_what_tilt_up_created_and_the_volume(tilt: Tilt) -> None:
    tilt_down_leaves_nothing(tilt)
    assert kubectl("get", "deployments,services", "-l", POSTGRES, "-o", "name").strip() == ""

    def claim_and_volume_deleted() -> bool:  # the claim goes once its pod has
        claims = kubectl("get", "pvc", "-l", POSTGRES, "-o", "name").strip()
        bound = kubectl("get", "pv", "-o", "jsonpath={.items[*].spec.claimRef.name}").split()
        return not claims and "postgres-data" not in bound

    wait_until("the claim postgres-data and its volume deleted", claim_and_volume_deleted, 90)
    # Kept for the next `tilt up -- --store postgres`, as the Tiltfile makes it once per cluster.
    assert kubectl("get", "secret", "postgres-credentials", "-o", "name").strip()
