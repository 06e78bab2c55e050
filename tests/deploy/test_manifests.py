"""k8s/ and components/, checked offline: Kubernetes schemas, Dapr's CRDs, and each other."""

import copy
import re
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml

from tests.deploy.conftest import documents, find, kustomized
from tools.launch import APP_ID
from tools.paths import ROOT


def test_manifests_pass_strict_kubernetes_validation(manifests: list[dict[str, Any]]) -> None:
    assert {d["kind"] for d in manifests} == {
        "Deployment", "Service", "NetworkPolicy", "PersistentVolumeClaim", "ConfigMap"
    }
    for doc in manifests:
        kubernetes_validate.validate(doc, kubernetes_validate.latest_version(), strict=True)


def _strict(schema: Any) -> Any:
    """Refuse unknown fields, as `kubectl apply --validate=strict` does for CRDs."""
    if isinstance(schema, dict):
        schema = {k: _strict(v) for k, v in schema.items()}
        if (
            "properties" in schema
            and "additionalProperties" not in schema
            and not schema.get("x-kubernetes-preserve-unknown-fields")
        ):
            schema["additionalProperties"] = False
    elif isinstance(schema, list):
        schema = [_strict(v) for v in schema]
    return schema


def test_dapr_resources_match_daprs_crds(
    dapr_resources: list[dict[str, Any]], dapr_crds: dict[str, dict[str, Any]]
) -> None:
    local_store = documents("components/local/statestore-sqlite.yaml")
    assert {d["kind"] for d in dapr_resources} == {"Component", "Configuration"}
    for doc in dapr_resources + local_store:
        schema = _strict(copy.deepcopy(dapr_crds[doc["kind"]]))
        body = {k: v for k, v in doc.items() if k != "metadata"}
        jsonschema.validate(body, schema)


def test_strict_crd_check_catches_a_misspelt_field(dapr_crds: dict[str, dict[str, Any]]) -> None:
    config = documents("components/config.yaml")[0]
    config["spec"]["tracing"]["samplingRat"] = config["spec"]["tracing"].pop("samplingRate")
    with pytest.raises(jsonschema.ValidationError, match="samplingRat"):
        jsonschema.validate(
            {k: v for k, v in config.items() if k != "metadata"},
            _strict(copy.deepcopy(dapr_crds["Configuration"])),
        )


def meta(component: dict[str, Any]) -> dict[str, str]:
    return {m["name"]: m["value"] for m in component["spec"]["metadata"]}


def test_state_store_is_the_actor_store_on_the_redis_service(
    dapr_resources: list[dict[str, Any]], manifests: list[dict[str, Any]]
) -> None:
    store = find(dapr_resources, "Component", "statestore")
    assert store["spec"]["type"] == "state.redis"
    assert meta(store)["actorStateStore"] == "true"
    host, port = meta(store)["redisHost"].split(":")
    service = find(manifests, "Service", host)
    assert int(port) in [p["port"] for p in service["spec"]["ports"]]
    sqlite = documents("components/local/statestore-sqlite.yaml")[0]
    assert sqlite["metadata"]["name"] == "statestore" and meta(sqlite)["actorStateStore"] == "true"


def test_tracing_goes_to_jaegers_otlp_port_for_its_protocol(
    dapr_resources: list[dict[str, Any]], manifests: list[dict[str, Any]]
) -> None:
    tracing = find(dapr_resources, "Configuration", "daprconfig")["spec"]["tracing"]
    assert tracing["samplingRate"] == "1"
    otel = tracing["otel"]
    assert otel["isSecure"] is False and otel["protocol"] in ("grpc", "http")
    host, port = otel["endpointAddress"].split(":")
    ports = {p["name"]: p["port"] for p in find(manifests, "Service", host)["spec"]["ports"]}
    assert int(port) == ports[f"otlp-{otel['protocol']}"]
    app_env = {e["name"]: e.get("value") for e in _app_container(manifests)["env"]}
    assert app_env["OTEL_EXPORTER_OTLP_ENDPOINT"] == f"http://{host}:{ports['otlp-grpc']}"


def _app_container(manifests: list[dict[str, Any]]) -> dict[str, Any]:
    deployment = find(manifests, "Deployment", APP_ID)
    return dict(deployment["spec"]["template"]["spec"]["containers"][0])


def test_app_deployment_has_sidecar_probes_limits_and_no_root(
    manifests: list[dict[str, Any]], dapr_resources: list[dict[str, Any]]
) -> None:
    deployment = find(manifests, "Deployment", APP_ID)
    annotations = deployment["spec"]["template"]["metadata"]["annotations"]
    container = _app_container(manifests)
    port = container["ports"][0]["containerPort"]
    assert annotations["dapr.io/enabled"] == "true"
    assert annotations["dapr.io/app-id"] == APP_ID
    assert annotations["dapr.io/app-port"] == str(port)
    assert (
        annotations["dapr.io/config"]
        == find(dapr_resources, "Configuration", "daprconfig")["metadata"]["name"]
    )
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert {"requests", "limits"} <= set(container["resources"])
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    assert deployment["spec"]["template"]["spec"]["securityContext"]["runAsNonRoot"] is True
    service = find(manifests, "Service", APP_ID)
    assert service["spec"]["ports"][0]["targetPort"] in ("http", port)


def test_every_workload_is_non_root_with_limits_and_no_api_token(
    manifests: list[dict[str, Any]],
) -> None:
    postgres = kustomized("k8s/postgres")  # `tilt up -- --store postgres` adds these
    for deployment in (d for d in manifests + postgres if d["kind"] == "Deployment"):
        pod = deployment["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True, deployment["metadata"]["name"]
        assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
        # None of them calls the Kubernetes API (daprd gets its own token from the injector).
        assert pod["automountServiceAccountToken"] is False, deployment["metadata"]["name"]
        for container in pod["containers"] + pod.get("initContainers", []):
            assert {"cpu", "memory"} <= set(container["resources"]["limits"]), container["name"]
            assert container["securityContext"]["allowPrivilegeEscalation"] is False
            assert not container["image"].endswith(":latest")


def test_every_container_of_the_default_stack_has_a_read_only_root(
    manifests: list[dict[str, Any]],
) -> None:
    for deployment in (d for d in manifests if d["kind"] == "Deployment"):
        pod = deployment["spec"]["template"]["spec"]
        for container in pod["containers"] + pod.get("initContainers", []):
            assert container["securityContext"]["readOnlyRootFilesystem"] is True, container["name"]


def test_app_root_filesystem_is_read_only_with_a_writable_tmp(
    manifests: list[dict[str, Any]],
) -> None:
    pod = find(manifests, "Deployment", APP_ID)["spec"]["template"]["spec"]
    container = _app_container(manifests)
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    [mount] = [m for m in container["volumeMounts"] if m["mountPath"] == "/tmp"]
    [volume] = [v for v in pod["volumes"] if v["name"] == mount["name"]]
    assert "emptyDir" in volume


def test_sidecar_has_limits_and_needs_no_api_token(manifests: list[dict[str, Any]]) -> None:
    annotations = find(manifests, "Deployment", APP_ID)["spec"]["template"]["metadata"][
        "annotations"
    ]
    for key in ("cpu-request", "cpu-limit", "memory-request", "memory-limit"):
        assert annotations[f"dapr.io/sidecar-{key}"], key
    # daprd's built-in Kubernetes secret store reads the API with the pod's token; without a
    # token it fails to start unless that store is off.
    assert annotations["dapr.io/disable-builtin-k8s-secret-store"] == "true"


def test_app_waits_for_the_state_store_before_its_sidecar_starts(
    manifests: list[dict[str, Any]], dapr_resources: list[dict[str, Any]]
) -> None:
    pod = find(manifests, "Deployment", APP_ID)["spec"]["template"]["spec"]
    [wait] = pod["initContainers"]
    address = meta(find(dapr_resources, "Component", "statestore"))["redisHost"]
    assert wait["image"] == APP_ID and "STATE_STORE_ADDRESS" in wait["command"][-1]
    assert wait["env"] == [{"name": "STATE_STORE_ADDRESS", "value": address}]


def test_redis_runs_the_same_with_any_image(manifests: list[dict[str, Any]]) -> None:
    container = find(manifests, "Deployment", "redis")["spec"]["template"]["spec"]["containers"][0]
    # No reliance on the official image's entrypoint, working directory or protected mode.
    assert container["command"] == ["redis-server"]
    assert container["workingDir"] == "/data"
    args = container["args"]
    assert args[args.index("--protected-mode") + 1] == "no"
    assert container["securityContext"]["readOnlyRootFilesystem"] is True


def test_redis_admits_only_pods_with_a_dapr_sidecar(manifests: list[dict[str, Any]]) -> None:
    policy = find(manifests, "NetworkPolicy", "redis")["spec"]
    redis = find(manifests, "Deployment", "redis")["spec"]["template"]["metadata"]["labels"]
    assert policy["podSelector"]["matchLabels"].items() <= redis.items()
    assert policy["policyTypes"] == ["Ingress"]
    [rule] = policy["ingress"]
    # A podSelector alone: pods of this namespace only, and only those the injector marked.
    assert rule["from"] == [{"podSelector": {"matchLabels": {"dapr.io/sidecar-injected": "true"}}}]
    assert rule["ports"] == [{"port": 6379, "protocol": "TCP"}]
    assert find(manifests, "Service", "redis")["spec"].get("type", "ClusterIP") == "ClusterIP"


def _dockerfile() -> str:
    return (ROOT / "Dockerfile").read_text()


def test_dockerfile_is_multi_stage_slim_non_root_one_worker(
    manifests: list[dict[str, Any]],
) -> None:
    text = _dockerfile()
    stages = re.findall(r"^FROM (\S+)", text, re.M)
    assert len(stages) == 2 and all("-slim" in s for s in stages)
    assert re.search(r"^USER 10001$", text, re.M)
    assert '"--workers", "1"' in text
    port = _app_container(manifests)["ports"][0]["containerPort"]
    assert f"EXPOSE {port}" in text and f'"--port", "{port}"' in text
    assert "-r /tmp/requirements.txt -c /tmp/constraints.txt" in text
    assert "requirements-dev" not in text


def test_dockerfile_python_matches_requires_python() -> None:
    version = re.search(r"^ARG PYTHON_VERSION=(\d+)\.(\d+)$", _dockerfile(), re.M)
    assert version is not None
    requires = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"]
    minimum = tuple(int(n) for n in re.findall(r"\d+", requires)[:2])
    assert (int(version[1]), int(version[2])) >= minimum


def test_dockerfile_needs_no_frontend_from_a_registry() -> None:
    # A `# syntax=` line makes BuildKit fetch its frontend image: offline builds fail.
    assert not re.search(r"^#\s*syntax=", _dockerfile(), re.M)


def test_dockerignore_lets_in_only_what_the_image_needs() -> None:
    lines = (ROOT / ".dockerignore").read_text().split()
    assert lines[0] == "*" and {"!app/", "!requirements.txt", "!constraints.txt"} <= set(lines)
    let_in = {line[1:].rstrip("/") for line in lines if line.startswith("!")}
    # Every file the Dockerfile copies from the build context is let in (a build fails else).
    for copied in re.findall(r"^COPY (?!--from)(?:--\S+ )*(.+)$", _dockerfile(), re.M):
        for source in copied.split()[:-1]:
            assert source.rstrip("/") in let_in, f"{source} copied, but .dockerignore keeps it out"


def _pins(path: str) -> dict[str, str]:
    """name==version lines, names as pip compares them (PEP 503)."""
    lines = (ROOT / path).read_text().splitlines()
    pairs = (line.split("==") for line in lines if line and not line.startswith("#"))
    return {re.sub(r"[-_.]+", "-", name).lower(): version for name, version in pairs}


def test_constraints_pin_every_runtime_package_and_name_no_index() -> None:
    pins = _pins("constraints.txt")
    assert _pins("requirements.txt").items() <= pins.items()
    assert {"grpcio", "protobuf", "starlette", "pydantic-core"} <= set(pins)  # transitive too
    assert "://" not in (ROOT / "constraints.txt").read_text()


def test_hadolint_passes() -> None:
    hadolint = Path(sys.executable).parent / "hadolint"
    result = subprocess.run(
        [str(hadolint), str(ROOT / "Dockerfile")], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("path", ["k8s/kustomization.yaml", "components/kustomization.yaml"])
def test_kustomizations_list_files_that_exist(path: str) -> None:
    directory = (ROOT / path).parent
    for doc in documents(path)[0]["resources"]:
        assert (directory / doc).is_file(), doc


@pytest.mark.parametrize(
    "path",
    [
        "components/statestore.yaml",
        "components/postgres/statestore.yaml",
        "components/local/statestore-sqlite.yaml",
    ],
)
def test_the_state_store_is_scoped_to_this_app(path: str) -> None:
    # Unscoped, every Dapr app in the namespace would load it as its actor store too.
    component = yaml.safe_load((ROOT / path).read_text())
    assert component["scopes"] == [APP_ID]
