"""Boot and tear down the single-node cluster: registry, containerd, dockerd, etcd, the control
plane, kubelet, kube-proxy, CoreDNS and the volume provisioner, each a process on this machine,
stopped by its PID."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

from tools.cluster import build, config, host
from tools.cluster.images import SANDBOX_IMAGE
from tools.cluster.layout import (
    API_PORT,
    BRIDGE,
    CONTAINERD_SOCK,
    DNS_SERVICE_IP,
    DOCKER_CIDR,
    DOCKER_SOCK,
    ETCD_CLIENT,
    ETCD_PEER,
    GATEWAY,
    HOST_RECORD,
    KUBECONFIG,
    LOGS,
    NODE,
    PIDS,
    PKI,
    POD_CIDR,
    REGISTRY,
    RUN,
    SERVICE_CIDR,
    STATE,
)
from tools.cluster.progress import StageFailed
from tools.paths import ROOT

# Start order; teardown stops them in reverse.
DAEMONS = ("registry", "containerd", "dockerd", "etcd", "kube-apiserver",
           "kube-controller-manager", "kube-scheduler", "kubelet", "kube-proxy", "coredns",
           "volumes")
TAG = ["-m", "comment", "--comment", "dapr-workflow-service cluster"]


def kube_bin(name: str) -> str:
    return str(build.tool("kubernetes").directory / name)


def kubectl(*args: str, check: bool = True, timeout: float = 60) -> str:
    out = subprocess.run([kube_bin("kubectl"), "--kubeconfig", str(KUBECONFIG), *args],
                         capture_output=True, text=True, check=False, timeout=timeout)
    if check and out.returncode != 0:
        raise StageFailed(f"kubectl {' '.join(args)}: {out.stderr.strip()}")
    return out.stdout


def wait_for(what: str, ready: Callable[[], bool], timeout: float, log: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if ready():
                return
        except (OSError, subprocess.SubprocessError, StageFailed):
            pass
        time.sleep(0.5)
    raise StageFailed(f"{what} not ready after {timeout:.0f}s (see {LOGS / log})")


def _start(name: str, cmd: list[str], env: dict[str, str] | None = None) -> None:
    if not host.running(name, PIDS):
        host.start(name, cmd, PIDS, LOGS, env)


def _alive(name: str) -> Callable[[], bool]:
    def check() -> bool:
        if not host.running(name, PIDS):
            raise StageFailed(f"{name} exited (see {LOGS / (name + '.log')})")
        return False
    return check


def _socket(path: Path, name: str) -> Callable[[], bool]:
    return lambda: path.is_socket() or _alive(name)()


def outward_interface() -> str:
    """The interface of this machine's default route (the way off the machine)."""
    route = host.sh("ip", "-o", "route", "show", "default").split()
    return route[route.index("dev") + 1] if "dev" in route else "eth0"


def network() -> None:
    """Snapshot the machine, then: the bridge, IP forwarding, and the rules that keep pods in."""
    STATE.mkdir(parents=True, exist_ok=True)
    RUN.mkdir(parents=True, exist_ok=True)
    for d in (PIDS, LOGS):
        d.mkdir(parents=True, exist_ok=True)
    if not HOST_RECORD.exists():
        host.snapshot(HOST_RECORD)
    if BRIDGE not in host.links():
        host.sh("ip", "link", "add", BRIDGE, "type", "bridge")
        host.sh("ip", "addr", "add", f"{GATEWAY}/24", "dev", BRIDGE)
        host.sh("ip", "link", "set", BRIDGE, "up")
    host.sh("sysctl", "-q", "-w", "net.ipv4.ip_forward=1")
    out = outward_interface()
    # Pods get no route off this machine: dropped before any accept rule the CNI plugins add
    # (mangle runs before filter; CNI-ADMIN is the firewall plugin's chain for such rules).
    drop = ["-s", POD_CIDR, "-o", out, *TAG, "-j", "DROP"]
    host.sh("iptables", "-t", "filter", "-N", "CNI-ADMIN", check=False, quiet=True)
    for table, chain in (("mangle", "FORWARD"), ("filter", "FORWARD"), ("filter", "CNI-ADMIN")):
        if subprocess.run(["iptables", "-t", table, "-C", chain, *drop],
                          capture_output=True).returncode:
            host.sh("iptables", "-t", table, "-I", chain, "1", *drop)
    # Image builds (dockerd's bridge) reach the package indexes, as `docker build` does anywhere.
    masq = ["-s", DOCKER_CIDR, "-o", out, *TAG, "-j", "MASQUERADE"]
    if subprocess.run(["iptables", "-t", "nat", "-C", "POSTROUTING", *masq],
                      capture_output=True).returncode:
        host.sh("iptables", "-t", "nat", "-A", "POSTROUTING", *masq)


def runtimes() -> None:
    """The loopback registry, containerd (CRI) and dockerd (Tilt's image builds) on it."""
    (RUN / "containerd").mkdir(parents=True, exist_ok=True)
    _start("registry", ["docker-registry", "serve", str(config.registry())])
    _start("containerd", ["containerd", "--config", str(config.containerd(SANDBOX_IMAGE))])
    wait_for("containerd", _socket(CONTAINERD_SOCK, "containerd"), 60, "containerd.log")
    _start("dockerd", ["dockerd", "--config-file", str(config.docker())])
    wait_for("dockerd", _socket(DOCKER_SOCK, "dockerd"), 90, "dockerd.log")
    wait_for("registry", lambda: _registry_up() or _alive("registry")(), 30, "registry.log")


def _registry_up() -> bool:
    with urllib.request.urlopen(f"http://{REGISTRY}/v2/", timeout=2) as r:
        return bool(r.status == 200)


def control_plane() -> None:
    config.pki()
    config.kubeconfig()
    etcd = str(build.tool("etcd").directory / "etcd")
    _start("etcd", [etcd, "--name", NODE, "--data-dir", str(STATE / "etcd"),
                    "--listen-client-urls", f"http://{ETCD_CLIENT}",
                    "--advertise-client-urls", f"http://{ETCD_CLIENT}",
                    "--listen-peer-urls", f"http://{ETCD_PEER}",
                    "--initial-advertise-peer-urls", f"http://{ETCD_PEER}",
                    "--initial-cluster", f"{NODE}=http://{ETCD_PEER}",
                    "--listen-metrics-urls", "", "--log-level", "warn"])
    _start("kube-apiserver", [
        kube_bin("kube-apiserver"), f"--advertise-address={GATEWAY}", f"--bind-address={GATEWAY}",
        f"--secure-port={API_PORT}", f"--etcd-servers=http://{ETCD_CLIENT}",
        f"--service-cluster-ip-range={SERVICE_CIDR}", f"--client-ca-file={PKI}/ca.crt",
        f"--tls-cert-file={PKI}/apiserver.crt", f"--tls-private-key-file={PKI}/apiserver.key",
        f"--kubelet-client-certificate={PKI}/admin.crt", f"--kubelet-client-key={PKI}/admin.key",
        # The node's address, never its name: that would be looked up in the machine's DNS.
        "--kubelet-preferred-address-types=InternalIP",
        f"--service-account-key-file={PKI}/sa.pub",
        f"--service-account-signing-key-file={PKI}/sa.key",
        "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
        "--authorization-mode=Node,RBAC", "--allow-privileged=true", "--profiling=false",
        "--v=0"])
    wait_for("API server", lambda: kubectl("get", "--raw", "/readyz", timeout=5) == "ok"
             or _alive("kube-apiserver")(), 120, "kube-apiserver.log")
    common = [f"--kubeconfig={KUBECONFIG}", f"--authentication-kubeconfig={KUBECONFIG}",
              f"--authorization-kubeconfig={KUBECONFIG}", "--bind-address=127.0.0.1",
              "--leader-elect=false", "--profiling=false"]
    _start("kube-controller-manager", [
        kube_bin("kube-controller-manager"), *common,
        f"--service-account-private-key-file={PKI}/sa.key", f"--root-ca-file={PKI}/ca.crt",
        f"--cluster-signing-cert-file={PKI}/ca.crt", f"--cluster-signing-key-file={PKI}/ca.key",
        f"--service-cluster-ip-range={SERVICE_CIDR}", "--use-service-account-credentials=true"])
    _start("kube-scheduler", [kube_bin("kube-scheduler"), *common])


def node() -> None:
    config.cni()
    _start("kubelet", [kube_bin("kubelet"), f"--config={config.kubelet()}",
                       f"--kubeconfig={KUBECONFIG}", f"--hostname-override={NODE}",
                       f"--node-ip={GATEWAY}", f"--root-dir={STATE}/kubelet", "--v=0"])
    _start("kube-proxy", [kube_bin("kube-proxy"), f"--config={config.kube_proxy()}"])
    _start("coredns", [str(build.tool("coredns").directory / "coredns"),
                       "-conf", str(config.corefile())])
    addons = STATE / "addons.yaml"
    addons.write_text(config.addons())
    wait_for("kube-system namespace", lambda: bool(kubectl("get", "ns", "kube-system", "-o",
                                                          "name", timeout=5)), 60, "")
    kubectl("apply", "-f", str(addons))
    _start("volumes", [sys.executable, "-m", "tools.cluster.volumes"],
           env={"PYTHONPATH": str(ROOT)})
    wait_for("node Ready", lambda: kubectl(
        "get", "node", NODE, "-o", "jsonpath={.status.conditions[?(@.type=='Ready')].status}",
        timeout=5) == "True" or _alive("kubelet")(), 120, "kubelet.log")
    wait_for("default service account", lambda: bool(kubectl(
        "get", "serviceaccount", "default", "-o", "name", timeout=5)), 60,
        "kube-controller-manager.log")
    wait_for(f"cluster DNS on {DNS_SERVICE_IP}", _dns_answers, 30, "coredns.log")


def _dns_answers() -> bool:
    """CoreDNS answers an A query for the API server's Service name."""
    labels = ("kubernetes", "default", "svc", "cluster", "local")
    name = b"".join(bytes([len(label)]) + label.encode() for label in labels)
    header = b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00"  # one question, RD
    query = header + name + b"\x00\x00\x01\x00\x01"  # A, IN
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(1)
        sock.sendto(query, (GATEWAY, 53))
        answer = sock.recv(512)
    return answer[3] & 0x0F == 0 and answer[7] > 0


def healthy() -> bool:
    """Every daemon alive and the API server answering."""
    if not all(host.running(name, PIDS) for name in DAEMONS):
        return False
    try:
        return kubectl("get", "--raw", "/readyz", check=False, timeout=5) == "ok"
    except subprocess.TimeoutExpired:
        return False


def anything_running() -> bool:
    return PIDS.exists() and any(host.running(n, PIDS) for n in DAEMONS)


def _kill(pids: list[int]) -> None:
    for pid in pids:
        if pid != os.getpid():
            host.stop_pid(pid, grace=0.5)


def down() -> list[str]:
    """Stop everything by PID, then undo every change to the machine; returns what was undone."""
    for name in ("kubelet", "coredns"):
        host.stop(name, PIDS)
    _kill(host.cgroup_pids("kubepods"))
    host.stop("dockerd", PIDS, grace=20)
    _kill(host.cgroup_pids("dws-docker"))
    _kill(host.pids_with_arg(str(CONTAINERD_SOCK)))  # containerd's shims
    host.stop("kube-proxy", PIDS)
    proxy = kube_bin("kube-proxy")
    if os.access(proxy, os.X_OK):
        subprocess.run([proxy, "--cleanup"], capture_output=True, check=False)
    for name in reversed(DAEMONS):
        host.stop(name, PIDS)
    _kill(host.pids_with_arg(str(CONTAINERD_SOCK)))
    for parent in ("kubepods", "dws-docker"):
        host.remove_cgroups(parent)
    undone = host.restore(HOST_RECORD)
    left = host.leftovers(HOST_RECORD) if HOST_RECORD.exists() else []
    if left:
        raise StageFailed("these remain after teardown:\n  " + "\n  ".join(left))
    shutil.rmtree(STATE, ignore_errors=True)
    with contextlib.suppress(OSError):
        STATE.parent.rmdir()  # only when empty: it was made for the cluster
    shutil.rmtree(RUN, ignore_errors=True)
    return undone
