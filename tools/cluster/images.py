"""Stand-in images for the ones no registry here serves, built from Debian and the Go builds.

They carry the names the Dockerfile, k8s/ and the Dapr chart use, and say what they are in a
label. The Python base is a Debian bookworm root filesystem (Debian's python3 is 3.11) standing
in for python:3.11-slim-bookworm; Redis is Debian's redis-server standing in for the official
image; Jaeger, Dapr and CoreDNS are this machine's builds of the pinned sources; pause is
compiled from Kubernetes' C source.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from tools.cluster import build
from tools.cluster.layout import DOCKER_SOCK, REGISTRY, REGISTRY_NAME
from tools.cluster.progress import StageFailed, say
from tools.dapr_runtime import dapr_version
from tools.paths import ROOT

DOCKER = "/usr/bin/docker"
ROOTFS = build.CACHE / "rootfs"
PAUSE_TAG = "3.10"
SANDBOX_IMAGE = f"{REGISTRY_NAME}/dapr-workflow-service/pause:{PAUSE_TAG}"


@dataclass
class StandIn:
    ref: str  # the name pods or builds ask for (registry host implied)
    what: str  # what stands in, said in output and in the image's label
    changes: list[str] = field(default_factory=list)
    push: bool = True  # into the loopback registry (the Python base only needs dockerd)


def manifest_image(repository: str) -> str:
    """The image reference k8s/ uses for `repository`, e.g. redis -> redis:7.4.2."""
    for path in sorted((ROOT / "k8s").glob("*.yaml")):
        for ref in re.findall(r"image:\s*(\S+)", path.read_text()):
            if ref.rsplit(":", 1)[0] == repository:
                return str(ref)
    raise StageFailed(f"no image {repository} in k8s/")


def python_base() -> str:
    version = re.search(r"ARG PYTHON_VERSION=(\S+)", (ROOT / "Dockerfile").read_text())
    return f"python:{version.group(1) if version else '3.11'}-slim-bookworm"


def docker(*args: str, stdin: bytes | None = None) -> str:
    out = subprocess.run([DOCKER, "-H", f"unix://{DOCKER_SOCK}", *args], input=stdin,
                         capture_output=True, check=False)
    if out.returncode != 0:
        raise StageFailed(f"docker {' '.join(args[:2])}: {out.stderr.decode().strip()}")
    return str(out.stdout.decode())


def _in_registry(ref: str) -> bool:
    repo, tag = ref.rsplit(":", 1)
    repo = repo if "/" in repo else f"library/{repo}"
    request = urllib.request.Request(
        f"http://{REGISTRY}/v2/{repo}/manifests/{tag}", method="HEAD",
        headers={"Accept": "application/vnd.docker.distribution.manifest.v2+json"})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def _mirror() -> str:
    """The Debian mirror apt already uses on this machine."""
    for source in [Path("/etc/apt/sources.list"), *Path("/etc/apt/sources.list.d").glob("*")]:
        text = source.read_text() if source.is_file() else ""
        for uri in re.findall(r"(?:URIs:\s*|^deb\s+(?:\[[^]]*\]\s+)?)(\S+)", text, re.M):
            if uri.rstrip("/").endswith("/debian"):
                return str(uri)
    raise StageFailed("no Debian mirror in /etc/apt/sources.list*; debootstrap needs one")


def rootfs(name: str, packages: tuple[str, ...], log: Path) -> Path:
    """A minimal bookworm root filesystem with `packages`, built once (cached by package list)."""
    key = hashlib.sha256(",".join(packages).encode()).hexdigest()[:10]
    target = ROOTFS / f"{name}-bookworm-{key}"
    if (target / "etc" / "os-release").exists():
        return target
    partial = target.with_name(target.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    (ROOTFS / "debs").mkdir(parents=True, exist_ok=True)
    say(f"      debootstrap bookworm + {', '.join(packages)} (log {log})")
    with log.open("a") as sink:
        subprocess.run(["nice", "-n", "10", "debootstrap", "--variant=minbase",
                        f"--include={','.join(packages)}", f"--cache-dir={ROOTFS / 'debs'}",
                        "bookworm", str(partial), _mirror()],
                       stdout=sink, stderr=subprocess.STDOUT, check=True)
    for junk in ("var/cache/apt/archives", "var/lib/apt/lists", "usr/share/doc",
                 "usr/share/man", "usr/share/locale"):
        shutil.rmtree(partial / junk, ignore_errors=True)
        (partial / junk).mkdir(parents=True, exist_ok=True)
    partial.rename(target)
    return target


def _import(image: StandIn, tree: Path) -> None:
    """One layer from `tree`, tagged with the stand-in's name, pushed to the registry."""
    tar = subprocess.run(["tar", "-C", str(tree), "--numeric-owner", "-c", "."],
                         capture_output=True, check=True).stdout
    label = f'LABEL org.opencontainers.image.description="stand-in: {image.what}"'
    changes = [arg for change in [*image.changes, label] for arg in ("--change", change)]
    docker("import", *changes, "-", image.ref, stdin=tar)
    if image.push:
        official = "/" not in image.ref.split(":")[0]
        local = f"{REGISTRY}/{'library/' if official else ''}{image.ref}"
        docker("tag", image.ref, local)
        docker("push", local)


def _binaries_tree(files: dict[str, Path], tree: Path) -> Path:
    shutil.rmtree(tree, ignore_errors=True)
    (tree / "tmp").mkdir(parents=True)
    (tree / "tmp").chmod(0o1777)
    for inside, source in files.items():
        (tree / inside).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, tree / inside)
    return tree


def _pause(log: Path) -> Path:
    source = build.download("k8s.io/kubernetes") / "build" / "pause" / "linux" / "pause.c"
    out = ROOTFS / "pause" / "pause"
    out.parent.mkdir(parents=True, exist_ok=True)
    with log.open("a") as sink:
        subprocess.run(["gcc", "-Os", "-static", "-s", f'-DVERSION="{PAUSE_TAG}"', "-o", str(out),
                        str(source)], stdout=sink, stderr=subprocess.STDOUT, check=True)
    return out


def ensure(log: Path) -> list[str]:
    """Build and push every missing stand-in; returns the lines that say what stands in."""
    dapr = build.tool("dapr").directory
    jaeger_bin = build.tool("jaeger").directory / "jaeger"
    said = []
    plan: list[tuple[StandIn, str]] = [
        (StandIn(python_base(), "Debian bookworm with Debian's python3 (3.11), this machine's "
                 "CA bundle for pip", ["ENV LANG=C.UTF-8",
                                       "ENV PIP_CERT=/etc/ssl/certs/ca-certificates.crt",
                                       'CMD ["python3"]'], push=False), "python"),
        (StandIn(manifest_image("redis"), "Debian's redis-server 7.0.15",
                 ["WORKDIR /data", 'CMD ["redis-server"]']), "redis"),
        (StandIn(manifest_image("jaegertracing/jaeger"),
                 f"Jaeger built here from {build.version('github.com/jaegertracing/jaeger')}",
                 ["ENV JAEGER_LISTEN_HOST=0.0.0.0", "USER 10001",
                  'ENTRYPOINT ["/cmd/jaeger/jaeger-linux"]']), "jaeger"),
        (StandIn(SANDBOX_IMAGE.removeprefix(f"{REGISTRY_NAME}/"), "pause built here from C",
                 ["USER 65535", 'ENTRYPOINT ["/pause"]']), "pause"),
    ] + [
        (StandIn(f"dapr/{name}:{dapr_version()}", f"Dapr {dapr_version()} {name} built here",
                 ["USER 65532", f'ENTRYPOINT ["/{name}"]']), name)
        for name in build.DAPR_COMMANDS
    ]
    for image, kind in plan:
        said.append(f"  {image.ref:<40} stand-in: {image.what}")
        present = (_in_registry(image.ref) if image.push
                   else bool(docker("images", "-q", image.ref).strip()))
        if present:
            continue
        say(f"      building stand-in {image.ref}")
        if kind == "python":
            tree = rootfs("python", ("python3", "python3-venv", "ca-certificates"), log)
            (tree / "usr/local/bin/python").unlink(missing_ok=True)
            (tree / "usr/local/bin/python").symlink_to("/usr/bin/python3")
            shutil.copy2("/etc/ssl/certs/ca-certificates.crt",
                         tree / "etc/ssl/certs/ca-certificates.crt")
        elif kind == "redis":
            tree = rootfs("redis", ("redis-server",), log)
            (tree / "data").mkdir(exist_ok=True)
        elif kind == "jaeger":
            tree = _binaries_tree({"cmd/jaeger/jaeger-linux": jaeger_bin}, ROOTFS / "jaeger")
        elif kind == "pause":
            tree = _binaries_tree({"pause": _pause(log)}, ROOTFS / "pause-tree")
        else:
            tree = _binaries_tree({kind: dapr / kind}, ROOTFS / f"dapr-{kind}")
        _import(image, tree)
    return said
