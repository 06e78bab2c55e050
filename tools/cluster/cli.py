"""`python -m tools.cluster up|down|env|status|build`, behind `make cluster` and friends.

up     use the current kube context when it is a local cluster the Tiltfile allows and it
       answers; otherwise build (once, cached) and boot a single-node cluster on this machine
env    the shell lines that point a shell at the cluster (`eval "$(make -s cluster-env)"`)
down   stop the cluster and undo every change it made to this machine
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
from pathlib import Path

from tools.cluster import build, host, images, node
from tools.cluster.layout import CONTEXT, DOCKER_SOCK, HOST_RECORD, KUBECONFIG, LOGS, PIDS
from tools.cluster.progress import StageFailed, Stages, elapsed, say
from tools.paths import ROOT

PACKAGES = ("containerd", "runc", "containernetworking-plugins", "iptables", "docker.io",
            "docker-registry", "debootstrap", "conntrack", "socat", "openssl", "gcc", "libc6-dev",
            "nftables")
CLIENTS = ("kubectl", "helm", "tilt")
PATH_DIR = build.CACHE / "bin" / "path"
NO_CALLS_HOME = {"TILT_DISABLE_ANALYTICS": "1", "DO_NOT_TRACK": "1",
                 "TILT_CLOUD_ADDRESS": "localhost:1"}


def allowed_contexts() -> list[str]:
    """The contexts the Tiltfile's allow_k8s_contexts() names."""
    text = (ROOT / "Tiltfile").read_text()
    found = re.search(r"allow_k8s_contexts\(\[(.*?)\]", text, re.S)
    return re.findall(r"'([^']+)'", found.group(1)) if found else []


def current_context() -> str | None:
    """The user's current context, if it is an allowed local cluster that answers."""
    kubectl = build.tool("kubernetes").directory / "kubectl"
    if not os.access(kubectl, os.X_OK):
        return None
    env = {k: v for k, v in os.environ.items() if k != "KUBECONFIG" or v != str(KUBECONFIG)}
    ctx = subprocess.run([str(kubectl), "config", "current-context"], capture_output=True,
                         text=True, env=env, check=False).stdout.strip()
    if ctx not in allowed_contexts() or ctx == CONTEXT:
        return None
    answers = subprocess.run([str(kubectl), "--request-timeout=5s", "get", "--raw", "/readyz"],
                             capture_output=True, text=True, env=env, check=False)
    return ctx if answers.stdout.strip() == "ok" else None


def env_lines(local: bool) -> list[str]:
    lines = [f'export PATH="{PATH_DIR}:$PATH"']
    if local:
        lines += [f"export KUBECONFIG={KUBECONFIG}", f"export DOCKER_HOST=unix://{DOCKER_SOCK}"]
    return lines + [f"export {k}={v}" for k, v in NO_CALLS_HOME.items()]


def _client_path() -> None:
    PATH_DIR.mkdir(parents=True, exist_ok=True)
    targets = {"kubectl": build.tool("kubernetes").directory / "kubectl",
               "helm": build.tool("helm").directory / "helm",
               "tilt": build.tool("tilt").directory / "tilt", "docker": Path("/usr/bin/docker")}
    for name, target in targets.items():
        link = PATH_DIR / name
        if target.exists() and (not link.is_symlink() or link.resolve() != target):
            link.unlink(missing_ok=True)
            link.symlink_to(target)


def _packages() -> None:
    missing = [p for p in PACKAGES if subprocess.run(
        ["dpkg-query", "-W", "-f=${Status}", p], capture_output=True, text=True,
        check=False).stdout != "install ok installed"]
    if not missing:
        return
    say(f"      apt-get install {' '.join(missing)}")
    log = LOGS / "apt.log"
    with log.open("a") as sink:
        subprocess.run(["apt-get", "update", "-qq"], stdout=sink, stderr=sink, check=True)
        subprocess.run(["apt-get", "-o", "DPkg::Lock::Timeout=600", "install", "-y", "-qq",
                        "--no-install-recommends", *missing], stdout=sink, stderr=sink,
                       check=True, env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})


def _build(stages: Stages, tools: list[build.Tool]) -> None:
    for t in tools:
        with stages.run(f"build {t.name} {t.version}", log=build.LOGS / f"build-{t.name}.log",
                        hint="rerun `make cluster`: finished tools are kept"):
            build.build(t)


def cmd_up() -> None:
    LOGS.mkdir(parents=True, exist_ok=True)
    ctx = current_context()
    if ctx:
        say(f"Using the current context {ctx}: an allowed local cluster that answers.")
        _build(Stages("make cluster", []), [t for t in build.TOOLS
                                            if t.name in ("kubernetes", "helm", "tilt")])
        _client_path()
        _print_env(local=False)
        return
    if sys.platform != "linux" or os.geteuid() != 0:
        raise StageFailed("no local cluster answers: start kind, minikube or Docker Desktop's "
                          "Kubernetes, or run `make cluster` as root on Linux to build one here")
    if node.healthy():
        say(f"Cluster {CONTEXT} is already running (`make cluster-down` stops it).")
        _print_env(local=True)
        return
    if node.anything_running():
        say("A previous cluster is partly running: stopping it first.")
        node.down()
    todo = [t for t in build.TOOLS if not t.built()]
    names = (["host packages"] + [f"build {t.name} {t.version}" for t in todo]
             + ["network", "registry, containerd, dockerd", "stand-in images",
                "control plane", "node"])
    stages = Stages("make cluster", names)
    say(f"Creating cluster {CONTEXT} (logs in {LOGS}){'; first build ~30 min' if todo else ''}")
    with stages.run("host packages", log=LOGS / "apt.log", hint="apt-get update, then retry"):
        _packages()
    _build(stages, todo)
    _client_path()
    try:
        with stages.run("network", hint="make cluster-down, then make cluster"):
            node.network()
        with stages.run("registry, containerd, dockerd", log=LOGS / "containerd.log",
                        hint=f"see also {LOGS}/dockerd.log and registry.log"):
            node.runtimes()
        with stages.run("stand-in images", log=LOGS / "images.log",
                        hint="a failed debootstrap: check apt can reach its mirror"):
            for line in images.ensure(LOGS / "images.log"):
                say(line)
        with stages.run("control plane", log=LOGS / "kube-apiserver.log",
                        hint=f"see also {LOGS}/etcd.log"):
            node.control_plane()
        with stages.run("node", log=LOGS / "kubelet.log",
                        hint=f"see also {LOGS}/kube-proxy.log and coredns.log"):
            node.node()
    except StageFailed:
        say("The cluster is left as it is for a look; `make cluster-down` removes it.")
        raise
    say(stages.summary())
    _print_env(local=True)


def _print_env(local: bool) -> None:
    say("Point a shell at it with:\n  eval \"$(make -s cluster-env)\"\nwhich prints:")
    for line in env_lines(local):
        say(f"  {line}")


def cmd_env() -> None:
    local = HOST_RECORD.exists()
    sys.stdout.write("\n".join(env_lines(local)) + "\n")


def cmd_down() -> None:
    started = time.monotonic()
    if not HOST_RECORD.exists() and not node.anything_running():
        say(f"No cluster {CONTEXT} on this machine.")
        return
    say(f"Deleting cluster {CONTEXT} ...")
    undone = node.down()
    say(f"Deleted in {elapsed(time.monotonic() - started)}: {len(undone)} changes to this "
        "machine undone (rules, interfaces, mounts, sysctls); nothing of it is left.")


def cmd_status() -> None:
    for name in node.DAEMONS:
        state = "running" if host.running(name, PIDS) else "stopped"
        say(f"  {name:<24} {state}")


def cmd_build() -> None:
    todo = [t for t in build.TOOLS if not t.built()]
    stages = Stages("build", [f"build {t.name} {t.version}" for t in todo])
    _build(stages, todo)
    _client_path()
    say(stages.summary())


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.cluster", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["up", "down", "env", "status", "build"])
    args = parser.parse_args()
    commands = {"up": cmd_up, "down": cmd_down, "env": cmd_env, "status": cmd_status,
                "build": cmd_build}
    try:
        commands[args.command]()
    except StageFailed as error:
        say(str(error))
        return 1
    return 0
