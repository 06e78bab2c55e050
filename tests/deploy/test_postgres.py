"""`tilt up -- --store postgres`, checked offline: k8s/postgres/ and components/postgres/ against
Kubernetes' schemas and Dapr's CRDs, against each other, and the Tiltfile's choice of store."""

import copy
import re
import shlex
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml

from tests.deploy.conftest import TiltCalls, documents, evaluate_tiltfile, find, kustomized
from tests.deploy.test_manifests import _strict
from tools.components import COMPONENTS
from tools.paths import ROOT

SECRET = "postgres-credentials"


@pytest.fixture(scope="module")
def server() -> list[dict[str, Any]]:
    return kustomized("k8s/postgres")


@pytest.fixture(scope="module")
def component() -> dict[str, Any]:
    [store] = kustomized("components/postgres")
    return store


@pytest.fixture(scope="module")
def tilt() -> TiltCalls:
    return evaluate_tiltfile(store="postgres")


def _credentials() -> dict[str, str]:
    """The keys credentials.sh puts into the Secret, with its connection string's fields."""
    script = (ROOT / "k8s/postgres/credentials.sh").read_text()
    assert re.search(rf"^SECRET={SECRET}$", script, re.M)
    keys = dict(re.findall(r'--from-literal=(\w+)="([^"]*)"', script))
    assert set(keys) == {"password", "connectionString"}
    fields = dict(part.split("=", 1) for part in shlex.split(keys["connectionString"]))
    assert fields["password"] == "$password" == keys["password"]
    return fields


def test_server_manifests_pass_strict_kubernetes_validation(
    server: list[dict[str, Any]],
) -> None:
    assert {d["kind"] for d in server} == {"PersistentVolumeClaim", "Deployment", "Service"}
    for doc in server:
        kubernetes_validate.validate(doc, kubernetes_validate.latest_version(), strict=True)


def test_component_is_postgresql_v2_actor_store_and_matches_daprs_crd(
    component: dict[str, Any], dapr_crds: dict[str, dict[str, Any]]
) -> None:
    assert component["metadata"]["name"] == "statestore"
    assert (component["spec"]["type"], component["spec"]["version"]) == ("state.postgresql", "v2")
    items = {m["name"]: m for m in component["spec"]["metadata"]}
    assert items["actorStateStore"]["value"] == "true"
    # Names state.postgresql v2 reads (components-contrib state/postgresql/v2/metadata.yaml).
    assert set(items) <= {"connectionString", "actorStateStore", "cleanupInterval", "timeout"}
    schema = _strict(copy.deepcopy(dapr_crds["Component"]))
    jsonschema.validate({k: v for k, v in component.items() if k != "metadata"}, schema)


def test_password_comes_from_the_secret_the_script_makes(
    server: list[dict[str, Any]], component: dict[str, Any]
) -> None:
    _credentials()
    container = find(server, "Deployment", "postgres")["spec"]["template"]["spec"]["containers"][0]
    env = {e["name"]: e for e in container["env"]}
    assert env["POSTGRES_PASSWORD"]["valueFrom"]["secretKeyRef"] == {
        "name": SECRET,
        "key": "password",
    }
    [connection] = [m for m in component["spec"]["metadata"] if m["name"] == "connectionString"]
    assert connection == {
        "name": "connectionString",
        "secretKeyRef": {"name": SECRET, "key": "connectionString"},
    }
    assert not any("password" in str(v).lower() for v in env.values() if "value" in v)


def test_connection_string_names_the_service_user_and_database(
    server: list[dict[str, Any]],
) -> None:
    fields = _credentials()
    service = find(server, "Service", fields["host"])
    assert int(fields["port"]) in [p["port"] for p in service["spec"]["ports"]]
    deployment = find(server, "Deployment", "postgres")
    assert service["spec"]["selector"] == deployment["spec"]["selector"]["matchLabels"]
    env = {
        e["name"]: e.get("value")
        for e in deployment["spec"]["template"]["spec"]["containers"][0]["env"]
    }
    assert (fields["user"], fields["dbname"]) == (env["POSTGRES_USER"], env["POSTGRES_DB"])


def test_server_is_the_official_image_pinned_non_root_on_its_volume(
    server: list[dict[str, Any]],
) -> None:
    deployment = find(server, "Deployment", "postgres")
    pod = deployment["spec"]["template"]["spec"]
    [container] = pod["containers"]
    assert re.fullmatch(r"postgres:\d+\.\d+-bookworm", container["image"])
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    assert container["resources"]["limits"]
    claim = find(server, "PersistentVolumeClaim", "postgres-data")["metadata"]["name"]
    assert {"name": "data", "persistentVolumeClaim": {"claimName": claim}} in pod["volumes"]
    assert deployment["spec"]["strategy"]["type"] == "Recreate"


def _applied(tilt: TiltCalls) -> list[dict[str, Any]]:
    """Every object the Tiltfile hands to k8s_yaml."""
    return [d for args, _ in tilt.named("k8s_yaml") for d in yaml.safe_load_all(args[0]) if d]


def test_tiltfile_swaps_redis_for_postgres(tilt: TiltCalls) -> None:
    resources = tilt.resources()
    assert "redis" not in resources
    assert resources["postgres"]["resource_deps"] == ["dapr", "postgres-credentials"]
    assert resources["postgres-credentials"]["cmd"] == "k8s/postgres/credentials.sh"
    assert set(resources["components"]["resource_deps"]) == {"dapr", "postgres", "jaeger"}
    applied = {(d["kind"], d["metadata"]["name"]): d for d in _applied(tilt)}
    redis = {("Deployment", "redis"), ("Service", "redis"), ("PersistentVolumeClaim", "redis-data")}
    assert not redis & set(applied)
    assert {("Deployment", "postgres"), ("Service", "postgres")} <= set(applied)
    assert ("PersistentVolumeClaim", "postgres-data") in applied
    assert applied[("Component", "statestore")]["spec"]["type"] == "state.postgresql"
    assert ("Configuration", "daprconfig") in applied


def test_app_waits_for_the_postgres_service_before_its_sidecar_starts(
    tilt: TiltCalls, server: list[dict[str, Any]]
) -> None:
    fields = _credentials()
    find(server, "Service", fields["host"])
    app = find(_applied(tilt), "Deployment", "workflow-service")["spec"]["template"]["spec"]
    [wait] = [c for c in app["initContainers"] if c["name"] == "wait-for-state-store"]
    assert wait["env"] == [{"name": "STATE_STORE_ADDRESS",
                            "value": f"{fields['host']}:{fields['port']}"}]


def test_tiltfile_keeps_redis_by_default() -> None:
    tilt = evaluate_tiltfile()
    assert "redis" in tilt.resources() and "postgres" not in tilt.resources()
    applied = {(d["kind"], d["metadata"]["name"]): d for d in _applied(tilt)}
    assert applied[("Component", "statestore")]["spec"]["type"] == "state.redis"
    assert ("Deployment", "postgres") not in applied


def test_local_runs_use_the_same_component_file() -> None:
    assert COMPONENTS["postgres"] == "postgres/statestore.yaml"
    assert documents("components/postgres/statestore.yaml")[0]["spec"]["type"] == "state.postgresql"
