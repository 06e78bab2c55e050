"""Stand-in images for the ones no registry here serves, built from Debian and the Go builds.

They carry the names the Dockerfile, k8s/ and the Dapr chart use, and say what they are in a
label. The Python base is a Debian bookworm root filesystem (Debian's python3 is 3.11) standing
in for python:3.11-slim-bookworm; Redis is Debian's redis-server and PostgreSQL Debian's server
(with an entrypoint of its own, postgres-entrypoint.sh) standing in for the official images;
Prometheus is Debian's prometheus (its build has no Kubernetes discovery: k8s/prometheus/
finds the pods by DNS); Jaeger, Dapr and CoreDNS are this machine's builds of the pinned
sources; pause is compiled from Kubernetes' C source.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from tools.cluster import build
from tools.cluster.debian import ROOTFS, move_user, package_version, rootfs
from tools.cluster.layout import DOCKER_SOCK, REGISTRY, REGISTRY_NAME
from tools.cluster.progress import StageFailed, say
from tools.dapr_runtime import dapr_version
from tools.paths import ROOT

DOCKER = "/usr/bin/docker"
PAUSE_TAG = "3.10"
SANDBOX_IMAGE = f"{REGISTRY_NAME}/dapr-workflow-service/pause:{PAUSE_TAG}"
POSTGRES_ENTRYPOINT = Path(__file__).with_name("postgres-entrypoint.sh")
POSTGRES_ID = 999  # the official image's postgres user and group, which the manifest runs as


@dataclass
class StandIn:
    ref: str  # the name pods or builds ask for (registry host implied)
    what: str  # what stands in, said in output and in the image's label
    changes: list[str] = field(default_factory=list)
    push: bool = True  # into the loopback registry (the Python base only needs dockerd)


def manifest_image(repository: str) -> str:
    """The image reference k8s/ uses for `repository`, e.g. redis -> redis:7.4.2."""
    for path in sorted((ROOT / "k8s").rglob("*.yaml")):
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


def _import(image: StandIn, tree: Path) -> None:
    """One layer from `tree`, tagged with the stand-in's name, pushed to the registry."""
    tar = subprocess.run(["tar", "-C", str(tree), "--numeric-owner", "-c", "."],
                         capture_output=True, check=True).stdout
    label = f'LABEL org.opencontainers.image.description="stand-in: {image.what}"'
    changes = [*image.changes, label]
    # What `docker import --change` does not take (STOPSIGNAL), a build on top sets.
    on_top = [change for change in changes if change.startswith("STOPSIGNAL ")]
    docker("import", *[arg for change in changes if change not in on_top
                       for arg in ("--change", change)], "-", image.ref, stdin=tar)
    if on_top:
        dockerfile = "\n".join([f"FROM {image.ref}", *on_top, ""])
        docker("build", "--quiet", "--tag", image.ref, "-", stdin=dockerfile.encode())
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


def _postgres(log: Path) -> tuple[StandIn, Path]:
    """Debian's server of the manifest's major version as the official image lays it out: user
    postgres with id 999, PGDATA under /var/lib/postgresql/data, the entrypoint."""
    ref = manifest_image("postgres")
    major = ref.rsplit(":", 1)[1].split(".")[0]
    package = f"postgresql-{major}"
    tree = rootfs("postgres", (package,), log)
    move_user(tree, "postgres", POSTGRES_ID)
    # The cluster the package's install made, and ssl-cert's generated key: not for an image.
    for made in (f"etc/postgresql/{major}", f"var/lib/postgresql/{major}"):
        shutil.rmtree(tree / made, ignore_errors=True)
    (tree / "etc/ssl/private/ssl-cert-snakeoil.key").unlink(missing_ok=True)
    for cert in (tree / "etc/ssl/certs").iterdir():
        if cert.name.startswith("ssl-cert-snakeoil") or not cert.exists():  # or links to it
            cert.unlink()
    for directory, mode in (("var/lib/postgresql/data", 0o1777), ("run/postgresql", 0o3777)):
        (tree / directory).mkdir(parents=True, exist_ok=True)
        os.chown(tree / directory, POSTGRES_ID, POSTGRES_ID)
        (tree / directory).chmod(mode)
    shutil.copy2(POSTGRES_ENTRYPOINT, tree / "usr/local/bin" / POSTGRES_ENTRYPOINT.name)
    path = f"/usr/lib/postgresql/{major}/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin"
    image = StandIn(ref, f"Debian's {package} {package_version(tree, package)}", [
        f"ENV PATH={path}", "ENV PGDATA=/var/lib/postgresql/data", "ENV LANG=C.UTF-8",
        f"USER {POSTGRES_ID}:{POSTGRES_ID}", "STOPSIGNAL SIGINT", "EXPOSE 5432",
        f'ENTRYPOINT ["/usr/local/bin/{POSTGRES_ENTRYPOINT.name}"]', 'CMD ["postgres"]'])
    return image, tree


def ensure(log: Path) -> list[str]:
    """Build and push every missing stand-in; returns the lines that say what stands in."""
    dapr = build.tool("dapr").directory
    jaeger_bin = build.tool("jaeger").directory / "jaeger"
    said = []
    postgres, postgres_tree = _postgres(log)
    prometheus_tree = rootfs("prometheus", ("prometheus",), log)
    prometheus = package_version(prometheus_tree, "prometheus")
    plan: list[tuple[StandIn, str]] = [
        (StandIn(python_base(), "Debian bookworm with Debian's python3 (3.11), this machine's "
                 "CA bundle for pip", ["ENV LANG=C.UTF-8",
                                       "ENV PIP_CERT=/etc/ssl/certs/ca-certificates.crt",
                                       'CMD ["python3"]'], push=False), "python"),
        (StandIn(manifest_image("redis"), "Debian's redis-server 7.0.15",
                 ["WORKDIR /data", 'CMD ["redis-server"]']), "redis"),
        (postgres, "postgres"),
        (StandIn(manifest_image("jaegertracing/jaeger"),
                 f"Jaeger built here from {build.version('github.com/jaegertracing/jaeger')}",
                 ["ENV JAEGER_LISTEN_HOST=0.0.0.0", "USER 10001",
                  'ENTRYPOINT ["/cmd/jaeger/jaeger-linux"]']), "jaeger"),
        (StandIn(manifest_image("prom/prometheus"), f"Debian's prometheus {prometheus}",
                 ["USER 65534", "WORKDIR /prometheus", 'ENTRYPOINT ["/usr/bin/prometheus"]']),
         "prometheus"),
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
        elif kind == "postgres":
            tree = postgres_tree
        elif kind == "prometheus":
            tree = prometheus_tree
        elif kind == "jaeger":
            tree = _binaries_tree({"cmd/jaeger/jaeger-linux": jaeger_bin}, ROOTFS / "jaeger")
        elif kind == "pause":
            tree = _binaries_tree({"pause": _pause(log)}, ROOTFS / "pause-tree")
        else:
            tree = _binaries_tree({kind: dapr / kind}, ROOTFS / f"dapr-{kind}")
        _import(image, tree)
    return said
