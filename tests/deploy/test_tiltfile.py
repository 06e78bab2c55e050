"""The Tiltfile, evaluated by a Starlark interpreter with Tilt's builtins stubbed."""

import pytest

from tests.deploy.conftest import TiltCalls, evaluate_tiltfile
from tools.dapr_runtime import dapr_version
from tools.launch import APP_ID
from tools.paths import ROOT

LOCAL_CONTEXTS = {
    "kind-kind",
    "docker-desktop",
    "k3d-k3s-default",
    "minikube",
    "rancher-desktop",
    "orbstack",
}


@pytest.fixture(scope="module")
def tilt() -> TiltCalls:
    return evaluate_tiltfile(dapr_installed=False)


def test_only_local_clusters_are_allowed(tilt: TiltCalls) -> None:
    [(args, _)] = tilt.named("allow_k8s_contexts")
    assert set(args[0]) <= LOCAL_CONTEXTS


def test_dapr_is_installed_from_its_chart_at_the_tested_version(tilt: TiltCalls) -> None:
    [(args, kwargs)] = tilt.named("helm_resource")
    assert args == ["dapr", "dapr-charts/dapr"]
    flags = kwargs["flags"]
    assert flags[flags.index("--version") + 1] == dapr_version()
    assert kwargs["namespace"] == "dapr-system"
    assert "DAPR_VERSION" in tilt.files_read


def test_an_installed_dapr_is_left_alone() -> None:
    tilt = evaluate_tiltfile(dapr_installed=True)
    assert tilt.named("helm_resource") == []
    assert "dapr" in tilt.resources()


def test_resources_start_in_dependency_order(tilt: TiltCalls) -> None:
    resources = tilt.resources()
    assert set(resources) >= {"dapr", "redis", "jaeger", "components", APP_ID}
    assert resources["redis"]["resource_deps"] == ["dapr"]
    assert resources["jaeger"]["resource_deps"] == ["dapr"]
    assert set(resources["components"]["resource_deps"]) == {"dapr", "redis", "jaeger"}
    assert resources[APP_ID]["resource_deps"] == ["components"]
    assert all(r.get("labels") for r in resources.values())


def test_components_resource_holds_the_dapr_objects(tilt: TiltCalls) -> None:
    objects = tilt.resources()["components"]["objects"]
    assert set(objects) == {"statestore:component", "daprconfig:configuration"}


def test_stable_localhost_urls_for_swagger_and_jaeger(tilt: TiltCalls) -> None:
    resources = tilt.resources()
    [app] = resources[APP_ID]["port_forwards"]
    [jaeger] = resources["jaeger"]["port_forwards"]
    assert (app["local"], app["remote"], app["link_path"]) == (8000, 8000, "/docs")
    assert (jaeger["local"], jaeger["remote"]) == (16686, 16686)


def test_image_builds_with_live_update_of_app_and_rebuild_on_dependencies(tilt: TiltCalls) -> None:
    [(args, kwargs)] = tilt.named("docker_build")
    assert args[0] == APP_ID  # the image the Deployment names
    fall_back, sync = kwargs["live_update"]
    assert fall_back == {"fall_back_on": ["requirements.txt"]}
    assert sync == {"sync": ["app", "/srv/app"]}
    assert "--reload" in kwargs["entrypoint"]


def test_every_file_the_tiltfile_references_exists(tilt: TiltCalls) -> None:
    [(_, kwargs)] = tilt.named("docker_build")
    paths = [kwargs["dockerfile"], *kwargs["only"], *tilt.files_read]
    paths += [a[0]["kustomize"] for a, _ in tilt.named("k8s_yaml")]
    for path in paths:
        assert (ROOT / path).exists(), path
