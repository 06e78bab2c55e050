"""Load the deploy artefacts once: manifests, Dapr resources, the Tiltfile's calls."""

import os
import shutil
from typing import Any

import pytest
import starlark as sl
import yaml

from tools.dapr_runtime import dapr_version, module_dir
from tools.paths import ROOT


def documents(*paths: str) -> list[dict[str, Any]]:
    docs: list[dict[str, Any]] = []
    for path in paths:
        docs += [d for d in yaml.safe_load_all((ROOT / path).read_text()) if d]
    return docs


def kustomized(directory: str) -> list[dict[str, Any]]:
    """The documents a kustomization lists, and the ConfigMaps it makes of files (no patches,
    no name suffixes are used)."""
    kustomization = yaml.safe_load((ROOT / directory / "kustomization.yaml").read_text())
    made = [
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": generator["name"]},
            "data": {
                path.rsplit("/", 1)[-1]: (ROOT / directory / path).read_text()
                for path in generator["files"]
            },
        }
        for generator in kustomization.get("configMapGenerator", [])
    ]
    return documents(*(f"{directory}/{name}" for name in kustomization["resources"])) + made


def find(docs: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    return next(d for d in docs if d["kind"] == kind and d["metadata"]["name"] == name)


@pytest.fixture(scope="session")
def manifests() -> list[dict[str, Any]]:
    return kustomized("k8s")


@pytest.fixture(scope="session")
def dapr_resources() -> list[dict[str, Any]]:
    return kustomized("components")


@pytest.fixture(scope="session")
def dapr_crds() -> dict[str, dict[str, Any]]:
    """Dapr's CRD schemas by kind, from the charts of the dapr module the runtime is built from."""
    go = shutil.which("go")
    if go is None:
        message = "validating Dapr resources needs Go, to read Dapr's CRDs from its module"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    crds = module_dir(go, dapr_version()) / "charts" / "dapr" / "crds"
    schemas = {}
    for name in ("components.yaml", "configuration.yaml"):
        crd = yaml.safe_load((crds / name).read_text())
        version = next(v for v in crd["spec"]["versions"] if v["name"] == "v1alpha1")
        schemas[crd["spec"]["names"]["kind"]] = version["schema"]["openAPIV3Schema"]
    return schemas


class TiltCalls:
    """What the Tiltfile asked Tilt to do, by builtin name."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, list[Any], dict[str, Any]]] = []
        self.files_read: list[str] = []

    def named(self, builtin: str) -> list[tuple[list[Any], dict[str, Any]]]:
        return [(a, k) for n, a, k in self.calls if n == builtin]

    def resources(self) -> dict[str, dict[str, Any]]:
        """k8s_resource and the Dapr install, keyed by resource name."""
        found: dict[str, dict[str, Any]] = {}
        for args, kwargs in self.named("k8s_resource"):
            found.setdefault(kwargs.get("new_name") or args[0], {}).update(kwargs)
        for args, kwargs in self.named("k8s_custom_deploy") + self.named("local_resource"):
            found.setdefault(args[0], {}).update(kwargs)
        return found


RECORDED = (
    "version_settings",
    "update_settings",
    "allow_k8s_contexts",
    "local_resource",
    "k8s_custom_deploy",
    "k8s_yaml",
    "docker_build",
    "k8s_resource",
)


def evaluate_tiltfile(dapr_elsewhere: str = "no", store: str | None = None) -> TiltCalls:
    """Run the Tiltfile in a Starlark interpreter with Tilt's builtins stubbed; `dapr_elsewhere`
    is k8s/dapr/helm.sh's answer to `installed-elsewhere`, `store` the `tilt up -- --store`
    argument."""
    tilt = TiltCalls()

    def recorder(name: str) -> Any:
        def record(*args: Any, **kwargs: Any) -> None:
            tilt.calls.append((name, list(args), kwargs))

        return record

    def read_file(path: str) -> str:
        tilt.files_read.append(path)
        return (ROOT / path).read_text()

    module = sl.Module()
    for name in RECORDED:
        module.add_callable(name, recorder(name))
    module.add_callable("read_file", read_file)
    module.add_callable("local", lambda cmd, **_: f"{dapr_elsewhere}\n")
    # kustomize() gives the YAML text; the Tiltfile decodes, adjusts and re-encodes it.
    module.add_callable("kustomize", lambda path: yaml.safe_dump_all(kustomized(path)))
    module.add_callable("decode_yaml_stream", lambda text: list(yaml.safe_load_all(text)))
    module.add_callable("encode_yaml_stream", lambda objects: yaml.safe_dump_all(objects))
    module.add_callable("fall_back_on", lambda files: {"fall_back_on": files})
    module.add_callable("sync", lambda src, dest: {"sync": [src, dest]})
    module.add_callable("run", lambda cmd, **kw: {"run": cmd, **kw})
    module.add_callable(
        "port_forward", lambda local, remote, **kw: {"local": local, "remote": remote, **kw}
    )
    # Tilt's `config` module: define_string records the flag, parse() gives the arguments.
    module.add_callable("_define_string", recorder("config.define_string"))
    module.add_callable("_parse", lambda: {"store": store} if store else {})
    prelude = "config = struct(define_string=_define_string, parse=_parse)"
    with_struct = sl.Globals.extended_by([sl.LibraryExtension.StructType])
    sl.eval(module, sl.parse("prelude", prelude, sl.Dialect.extended()), with_struct)

    def load(extension: str) -> sl.FrozenModule:
        # Tilt fetches `ext://` extensions from the network at `tilt up`: none is allowed.
        raise AssertionError(f"the Tiltfile loads {extension}")

    ast = sl.parse("Tiltfile", (ROOT / "Tiltfile").read_text(), sl.Dialect.extended())
    sl.eval(module, ast, sl.Globals.standard(), sl.FileLoader(load))
    return tilt
