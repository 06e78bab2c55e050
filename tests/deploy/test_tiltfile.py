"""The Tiltfile, evaluated by a Starlark interpreter with Tilt's builtins stubbed."""

import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
import starlark as sl
import yaml
from uvicorn.main import main as uvicorn_command

from tests.deploy.conftest import TiltCalls, evaluate_tiltfile, kustomized
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
    return evaluate_tiltfile()


def test_only_local_clusters_are_allowed(tilt: TiltCalls) -> None:
    [(args, _)] = tilt.named("allow_k8s_contexts")
    assert set(args[0]) <= LOCAL_CONTEXTS


def test_tilt_version_is_pinned(tilt: TiltCalls) -> None:
    [(_, kwargs)] = tilt.named("version_settings")
    assert kwargs["constraint"].startswith(">=")


def test_dapr_is_installed_with_helm_from_a_local_chart_and_removed_by_tilt_down(
    tilt: TiltCalls,
) -> None:
    [(args, kwargs)] = tilt.named("k8s_custom_deploy")
    assert args == ["dapr"]
    assert kwargs["apply_cmd"] == ["k8s/dapr/helm.sh", "apply"]
    assert kwargs["delete_cmd"] == ["k8s/dapr/helm.sh", "delete"]
    assert "DAPR_VERSION" in tilt.files_read and "DAPR_VERSION" in kwargs["deps"]
    script = (ROOT / "k8s/dapr/helm.sh").read_text()
    # The chart's image tag defaults to `edge`: the tested version is set explicitly.
    assert '--set "global.tag=$version"' in script and "version=$(cat DAPR_VERSION)" in script
    assert "github.com/dapr/dapr@v$version" in script  # the chart of the runtime's own module
    assert "helm repo" not in script and "http" not in script
    # A Dapr this file installed is recognised as its own, so that `tilt down` removes it.
    assert '--labels "$owner"' in script and '--selector "$owner"' in script


def test_dapr_chart_values_suit_a_dev_cluster() -> None:
    values = yaml.safe_load((ROOT / "k8s/dapr/values-dev.yaml").read_text())
    # Three scheduler replicas with a 16 Gi claim each otherwise: Pending without a provisioner.
    assert values["dapr_scheduler"]["cluster"]["inMemoryStorage"] is True
    assert values["global"]["ha"]["enabled"] is False
    for component in (
        "dapr_scheduler",
        "dapr_placement",
        "dapr_operator",
        "dapr_sentry",
        "dapr_sidecar_injector",
    ):
        assert values[component]["resources"]["limits"], component


def test_an_installed_dapr_at_the_pinned_version_is_left_alone() -> None:
    tilt = evaluate_tiltfile(dapr_elsewhere="yes")
    assert tilt.named("k8s_custom_deploy") == []
    assert "dapr" in tilt.resources()


def test_an_installed_dapr_at_another_version_stops_tilt_up_saying_so() -> None:
    # Its injector would put that daprd beside the app.
    with pytest.raises(sl.StarlarkError, match=r"daprd:1\.16\.0.*runs on Dapr 1\.18\.2"):
        evaluate_tiltfile(dapr_elsewhere="other example/dapr/daprd:1.16.0")


@pytest.mark.parametrize(
    ("sidecar", "answer"),
    [
        ("example/dapr/daprd:1.18.2", "yes"),
        ("daprio/daprd:1.18.2-mariner", "yes"),
        ("example/dapr/daprd:1.16.0", "other example/dapr/daprd:1.16.0"),
        ("example/dapr/daprd:1.18.20", "other example/dapr/daprd:1.18.20"),
        ("", "other unknown"),
    ],
)
def test_helm_sh_tells_an_installed_daprs_version_by_its_sidecar_image(
    tmp_path: Path, sidecar: str, answer: str
) -> None:
    # helm and kubectl stand-ins: a Dapr that helm.sh did not install, whose injector says this.
    (tmp_path / "helm").write_text("#!/bin/sh\nexit 0\n")
    (tmp_path / "kubectl").write_text(
        "#!/bin/sh\n"
        'case "$*" in\n'
        "*dapr-operator*) echo deployment.apps/dapr-operator ;;\n"
        f'*SIDECAR_IMAGE*) printf %s "{sidecar}" ;;\n'
        "esac\n"
    )
    for tool in ("helm", "kubectl"):
        (tmp_path / tool).chmod(0o755)
    path = f"{tmp_path}:{os.environ['PATH']}"
    done = subprocess.run(
        ["sh", "k8s/dapr/helm.sh", "installed-elsewhere"],
        cwd=ROOT,
        env={**os.environ, "PATH": path},
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.strip() == answer


def test_resources_start_in_dependency_order(tilt: TiltCalls) -> None:
    resources = tilt.resources()
    assert set(resources) >= {"dapr", "redis", "jaeger", "prometheus", "components", APP_ID}
    assert resources["redis"]["resource_deps"] == ["dapr"]
    assert resources["redis"]["objects"] == ["redis-data:persistentvolumeclaim"]
    assert resources["jaeger"]["resource_deps"] == ["dapr"]
    assert resources["prometheus"]["resource_deps"] == ["dapr"]
    assert resources["prometheus"]["objects"] == ["prometheus:configmap"]
    assert set(resources["components"]["resource_deps"]) == {"dapr", "redis", "jaeger"}
    assert resources[APP_ID]["resource_deps"] == ["components"]
    assert all(r.get("labels") for r in resources.values())


def test_components_resource_holds_the_dapr_objects(tilt: TiltCalls) -> None:
    objects = tilt.resources()["components"]["objects"]
    assert set(objects) == {"statestore:component", "daprconfig:configuration"}


def test_stable_localhost_urls_for_swagger_jaeger_and_prometheus(tilt: TiltCalls) -> None:
    resources = tilt.resources()
    [app] = resources[APP_ID]["port_forwards"]
    [jaeger] = resources["jaeger"]["port_forwards"]
    [prometheus] = resources["prometheus"]["port_forwards"]
    assert (prometheus["local"], prometheus["remote"]) == (9090, 9090)
    # Not 8000: `make run` listens there, and a forward that cannot bind fails quietly.
    assert (app["local"], app["remote"], app["link_path"]) == (8080, 8000, "/docs")
    assert (jaeger["local"], jaeger["remote"]) == (16686, 16686)


def test_image_builds_with_live_update_of_app_and_rebuild_on_dependencies(tilt: TiltCalls) -> None:
    [(args, kwargs)] = tilt.named("docker_build")
    assert args[0] == APP_ID  # the image the Deployment names
    fall_back, sync, guard = kwargs["live_update"]
    assert fall_back == {"fall_back_on": ["requirements.txt", "constraints.txt"]}
    assert sync == {"sync": ["app", "/srv/staged/app"]}
    # The staged code goes live only when the running instances replay on it.
    command = guard["run"]
    copy = "cp -R -u --preserve=timestamps /srv/staged/app/* /srv/app/"  # what changed, only
    assert command.index("python -m tools.replay") < command.index(copy)
    # The check imports the staged app/: it runs from there (python -m puts the cwd first).
    assert command.startswith("cd /srv/staged && PYTHONPATH=/srv python -m tools.replay")
    assert "exit 1" in command
    assert {"tools/__init__.py", "tools/replay.py"} <= set(kwargs["only"])
    # The Dockerfile's command is not repeated: an environment variable turns the reload on.
    assert "entrypoint" not in kwargs and "UVICORN_RELOAD" in (ROOT / "Dockerfile").read_text()


def deployed(tilt: TiltCalls) -> list[dict[str, Any]]:
    """Every object the Tiltfile passes to k8s_yaml."""
    return [d for args, _ in tilt.named("k8s_yaml") for d in yaml.safe_load_all(args[0]) if d]


def uvicorn_options(
    env: list[dict[str, str]], paths: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> dict[str, Any]:
    """The options uvicorn's command line takes from a container's environment (paths that do
    not exist here replaced, as uvicorn checks that its reload directories exist)."""
    for variable in (v for v in env if "value" in v):
        monkeypatch.setenv(variable["name"], paths.get(variable["value"], variable["value"]))
    return uvicorn_command.make_context("uvicorn", ["app.main:create_app"]).params


def test_tilt_deploys_k8s_and_components(tilt: TiltCalls) -> None:
    expected = kustomized("k8s") + kustomized("components")
    names = {(d["kind"], d["metadata"]["name"]) for d in deployed(tilt)}
    assert names == {(d["kind"], d["metadata"]["name"]) for d in expected}


def test_live_update_syncs_into_a_writable_copy_while_the_root_stays_read_only(
    tilt: TiltCalls, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    deployment = next(
        d for d in deployed(tilt) if d["kind"] == "Deployment" and d["metadata"]["name"] == APP_ID
    )
    pod = deployment["spec"]["template"]["spec"]
    copy_app = pod["initContainers"][-1]
    [app] = [c for c in pod["containers"] if c["name"] == "app"]
    assert copy_app["image"] == APP_ID
    assert copy_app["command"][-1] == (
        "cp -R --preserve=timestamps /srv/app/* /live/ && mkdir -p /staged/app "
        "&& cp -R --preserve=timestamps /srv/app/* /staged/app/"
    )
    assert {"name": "UVICORN_RELOAD", "value": "true"} in app["env"]
    assert {"name": "UVICORN_RELOAD_DIRS", "value": "/srv/app"} in app["env"]
    # ... under the name uvicorn reads: with another, it would watch /srv, the staged copy too.
    assert uvicorn_options(app["env"], {"/srv/app": str(tmp_path)}, monkeypatch)["reload_dirs"] == (
        str(tmp_path),
    )
    for path in ("/srv/app", "/srv/staged"):  # the live copy and the staged one
        [mount] = [m for m in app["volumeMounts"] if m["mountPath"] == path]
        [volume] = [v for v in pod["volumes"] if v["name"] == mount["name"]]
        assert "emptyDir" in volume
    assert app["securityContext"]["readOnlyRootFilesystem"] is True
    assert copy_app["securityContext"]["readOnlyRootFilesystem"] is True


def test_every_file_the_tiltfile_references_exists(tilt: TiltCalls) -> None:
    [(_, kwargs)] = tilt.named("docker_build")
    [(_, dapr)] = tilt.named("k8s_custom_deploy")
    paths = [kwargs["dockerfile"], *kwargs["only"], *tilt.files_read, *dapr["deps"]]
    paths += [dapr["apply_cmd"][0], dapr["delete_cmd"][0]]
    for path in paths:
        assert (ROOT / path).exists(), path


def test_helm_sh_stops_when_the_chart_cannot_be_had(tmp_path: Path) -> None:
    # go cannot download the module (offline, say): helm is never called with no chart.
    (tmp_path / "go").write_text('#!/bin/sh\necho \'{"Error": "offline"}\'\nexit 1\n')
    (tmp_path / "helm").write_text(f'#!/bin/sh\necho "$*" >> {tmp_path}/helm-calls\n')
    for tool in ("go", "helm"):
        (tmp_path / tool).chmod(0o755)
    env = {k: v for k, v in os.environ.items() if k != "DAPR_HELM_CHART"}
    done = subprocess.run(
        ["sh", "k8s/dapr/helm.sh", "apply"],
        cwd=ROOT,
        env={**env, "PATH": f"{tmp_path}:{os.environ['PATH']}"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 1 and "DAPR_HELM_CHART" in done.stderr
    assert not (tmp_path / "helm-calls").exists()
