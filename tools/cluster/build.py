"""Build the cluster's Go tools once from the Go module proxy, cached by version.

Every module fetched here is checked against tools/cluster/go.sum (the pins), so the build
trusts no checksum database. Each tool builds inside its own module, with that module's own
go.sum; Kubernetes and etcd are assembled the way their repositories lay them out (the staging
modules under staging/src/k8s.io, etcd's sibling modules beside server/).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from tools.cluster.progress import StageFailed, elapsed, say
from tools.dapr_runtime import cache_dir, dapr_version

HERE = Path(__file__).resolve().parent
CACHE = cache_dir("x").parent.parent / "cluster"
LOGS = CACHE / "logs"
KUBE_COMMANDS = ("kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubelet",
                 "kube-proxy", "kubectl")
DAPR_COMMANDS = ("operator", "sentry", "injector", "placement", "scheduler", "daprd")
UNVERIFIED_BY_SUMDB = "github.com/tilt-dev/tilt,github.com/jaegertracing/jaeger"


def pins() -> dict[str, str]:
    """module path -> version, from the require block of tools/cluster/go.mod."""
    text = (HERE / "go.mod").read_text()
    return dict(re.findall(r"^\s+(\S+) (v\S+)$", text, re.M))


def _sums() -> dict[str, str]:
    return {f"{p} {v}": h for p, v, h in
            (line.split() for line in (HERE / "go.sum").read_text().splitlines() if line)}


def version(module: str) -> str:
    return pins()[module]


def go_env() -> dict[str, str]:
    return {**os.environ, "CGO_ENABLED": "0", "GOTOOLCHAIN": "local",
            "GOFLAGS": "-mod=mod -buildvcs=false", "GOWORK": "off",
            "GONOSUMDB": UNVERIFIED_BY_SUMDB}


def download(module: str) -> Path:
    """The pinned module's source, its hash checked against tools/cluster/go.sum."""
    ver = version(module)
    out = subprocess.run(
        ["go", "mod", "download", "-json", f"{module}@{ver}"], cwd=HERE, capture_output=True,
        text=True, check=False, env={**go_env(), "GOSUMDB": "off"},
    )
    info = json.loads(out.stdout or "{}")
    if out.returncode != 0 or "Dir" not in info:
        raise StageFailed(f"cannot download {module}@{ver}: {info.get('Error') or out.stderr}")
    want = _sums().get(f"{module} {ver}")
    if info.get("Sum") != want:
        raise StageFailed(f"{module}@{ver} hash {info.get('Sum')} differs from go.sum's {want}")
    return Path(info["Dir"])


def _copy_tree(src: Path, dst: Path) -> None:
    """A writable copy of a (read-only) module directory."""
    shutil.copytree(src, dst, symlinks=True)
    for root, dirs, files in os.walk(dst):
        for name in dirs + files:
            path = Path(root, name)
            if not path.is_symlink():
                path.chmod(path.stat().st_mode | 0o200)


def go_build(cwd: Path, package: str, out: Path, log: Path, ldflags: str = "",
             tags: str = "", cgo: bool = False) -> None:
    """`go build -v` into `out`, output in `log`, a heartbeat line each minute."""
    cmd = ["nice", "-n", "10", "go", "build", "-v", "-trimpath", "-o", str(out)]
    cmd += ["-ldflags", f"-s -w {ldflags}".strip()] + (["-tags", tags] if tags else [])
    started = last = time.monotonic()
    with log.open("a") as sink:
        sink.write(f"$ (cd {cwd}; {' '.join(cmd)} {package})\n")
        sink.flush()
        env = {**go_env(), "CGO_ENABLED": "1" if cgo else "0"}
        proc = subprocess.Popen([*cmd, package], cwd=cwd, env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True)
        assert proc.stdout is not None
        for count, line in enumerate(proc.stdout, start=1):
            sink.write(line)
            if time.monotonic() - last > 60:
                last = time.monotonic()
                say(f"      {out.name}: {count} packages compiled, {elapsed(last - started)}")
    if proc.wait() != 0:
        raise StageFailed(f"go build {package} failed")
    say(f"      {out.name} built in {elapsed(time.monotonic() - started)}")


@dataclass(frozen=True)
class Tool:
    """One cached build: `name-version/` holding `binaries`."""

    name: str
    module: str
    binaries: tuple[str, ...]

    @property
    def version(self) -> str:
        return dapr_version() if self.name == "dapr" else version(self.module)

    @property
    def directory(self) -> Path:
        return CACHE / "bin" / f"{self.name}-{self.version}"

    def built(self) -> bool:
        return all(os.access(self.directory / b, os.X_OK) for b in self.binaries)


TOOLS = (
    Tool("kubernetes", "k8s.io/kubernetes", KUBE_COMMANDS),
    Tool("etcd", "go.etcd.io/etcd/server/v3", ("etcd",)),
    Tool("helm", "helm.sh/helm/v3", ("helm",)),
    Tool("coredns", "github.com/coredns/coredns", ("coredns",)),
    Tool("dapr", "github.com/dapr/dapr", DAPR_COMMANDS),
    Tool("tilt", "github.com/tilt-dev/tilt", ("tilt",)),
    Tool("jaeger", "github.com/jaegertracing/jaeger", ("jaeger",)),
)


def tool(name: str) -> Tool:
    return next(t for t in TOOLS if t.name == name)


def _kubernetes(out: Path, log: Path, src: Path) -> None:
    ver = version("k8s.io/kubernetes")
    _copy_tree(download("k8s.io/kubernetes"), src)
    shutil.rmtree(src / "vendor", ignore_errors=True)
    staging = src / "staging" / "src" / "k8s.io"
    shutil.rmtree(staging, ignore_errors=True)
    for module in pins():
        if module.startswith("k8s.io/") and module != "k8s.io/kubernetes":
            _copy_tree(download(module), staging / module.removeprefix("k8s.io/"))
    major, minor = ver.lstrip("v").split(".")[:2]
    stamp = " ".join(
        f"-X {pkg}.{key}={value}"
        for pkg in ("k8s.io/component-base/version", "k8s.io/client-go/pkg/version")
        for key, value in (("gitVersion", ver), ("gitMajor", major), ("gitMinor", minor),
                           ("gitTreeState", "clean"), ("buildDate", "1970-01-01T00:00:00Z"))
    )
    for command in KUBE_COMMANDS:
        go_build(src, f"./cmd/{command}", out / command, log, stamp)


def _etcd(out: Path, log: Path, src: Path) -> None:
    # server/'s go.mod replaces its sibling modules with ../api and so on: lay them out so.
    for where in ("server", "api", "client/pkg", "client/v3", "pkg"):
        module = "go.etcd.io/etcd/" + (where if where.endswith("/v3") else f"{where}/v3")
        _copy_tree(download(module), src / where)
    go_build(src / "server", ".", out / "etcd", log)


def _helm(out: Path, log: Path, src: Path) -> None:
    kube = version("k8s.io/kubernetes").lstrip("v").split(".")
    flags = (f"-X helm.sh/helm/v3/internal/version.version={version('helm.sh/helm/v3')} "
             f"-X helm.sh/helm/v3/internal/version.gitTreeState=clean "
             f"-X helm.sh/helm/v3/pkg/chartutil.k8sVersionMajor={kube[0]} "
             f"-X helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor={kube[1]}")
    go_build(download("helm.sh/helm/v3"), "./cmd/helm", out / "helm", log, flags)


def _coredns(out: Path, log: Path, src: Path) -> None:
    go_build(download("github.com/coredns/coredns"), ".", out / "coredns", log)


def _tilt(out: Path, log: Path, src: Path) -> None:
    _copy_tree(download("github.com/tilt-dev/tilt"), src)
    # The module ships without the web UI's build; `tilt ci` needs only its index to start.
    (src / "pkg" / "assets" / "build").mkdir(parents=True, exist_ok=True)
    (src / "pkg" / "assets" / "build" / "index.html").write_text(
        "<!doctype html><title>Tilt</title><p>This Tilt build has no web UI; use the CLI.\n")
    flags = f"-X main.version={version('github.com/tilt-dev/tilt').lstrip('v')}"
    # Tilt's Tiltfile parser (tree-sitter) is C: cgo, as Tilt's own release builds.
    go_build(src, "./cmd/tilt", out / "tilt", log, flags, tags="osusergo", cgo=True)


def _jaeger(out: Path, log: Path, src: Path) -> None:
    go_build(download("github.com/jaegertracing/jaeger"), "./cmd/jaeger", out / "jaeger", log)


def _dapr(out: Path, log: Path, src: Path) -> None:
    ver = dapr_version()
    if version("github.com/dapr/dapr") != f"v{ver}":
        raise StageFailed(f"tools/cluster/go.mod pins dapr {version('github.com/dapr/dapr')}, "
                          f"DAPR_VERSION is {ver}: make them agree")
    module = download("github.com/dapr/dapr")
    runtime = cache_dir(ver)  # daprd, placement and scheduler as `make run` builds them
    for command in DAPR_COMMANDS:
        if os.access(runtime / command, os.X_OK):
            shutil.copy2(runtime / command, out / command)
            continue
        go_build(module, f"./cmd/{command}", out / command, log,
                 f"-X github.com/dapr/dapr/pkg/buildinfo.version={ver}", tags="stablecomponents")


BUILDERS = {"kubernetes": _kubernetes, "etcd": _etcd, "helm": _helm, "coredns": _coredns,
            "tilt": _tilt, "jaeger": _jaeger, "dapr": _dapr}


def build(t: Tool) -> Path:
    """Build one tool into its cache directory unless it is there already."""
    if t.built():
        return t.directory
    LOGS.mkdir(parents=True, exist_ok=True)
    log = LOGS / f"build-{t.name}.log"
    partial = t.directory.with_name(t.directory.name + ".partial")
    src = CACHE / "src" / f"{t.name}-{t.version}"
    partial.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(src, ignore_errors=True)
    log.write_text("")
    BUILDERS[t.name](partial, log, src)
    shutil.rmtree(src, ignore_errors=True)
    if t.directory.exists():
        shutil.rmtree(t.directory)
    partial.rename(t.directory)
    return t.directory
