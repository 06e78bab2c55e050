"""The local stack keeps to loopback and needs no network.

Every socket a stack process listens on is a loopback one, and the stack runs (a workflow
completes) in a network namespace whose only interface is loopback.
"""

import ipaddress
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tools.paths import ROOT
from tools.stack import Stack
from tools.supervise import stat_fields

LISTEN = "0A"  # TCP_LISTEN in /proc/net/tcp{,6}


def _address(hex_address: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    """/proc/net's hex address: 32-bit words in host (little-endian) order."""
    raw = bytes.fromhex(hex_address)
    words = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))
    return ipaddress.ip_address(words)


def _group_pids(leaders: set[int]) -> set[int]:
    """Every process in the stack's process groups (each process leads its own)."""
    pids = set()
    for proc in Path("/proc").glob("[0-9]*"):
        fields = stat_fields(int(proc.name))
        if fields is not None and int(fields[2]) in leaders:  # pgrp
            pids.add(int(proc.name))
    return pids


def listening_sockets(pids: set[int]) -> list[tuple[str, int, int]]:
    """(address, port, pid) of every TCP socket the processes listen on."""
    owner = {}
    for pid in pids:
        for fd in Path(f"/proc/{pid}/fd").glob("*"):
            try:
                target = os.readlink(fd)
            except OSError:
                continue
            if target.startswith("socket:["):
                owner[target[8:-1]] = pid
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            local, state, inode = fields[1], fields[3], fields[9]
            if state == LISTEN and inode in owner:
                host, port = local.split(":")
                found.append((str(_address(host)), int(port, 16), owner[inode]))
    return found


def _loopback(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    mapped = getattr(ip, "ipv4_mapped", None)
    return ip.is_loopback or (mapped is not None and mapped.is_loopback)


def _upstream_exceptions(stack: Stack) -> set[tuple[str, int]]:
    """Dapr 1.18.2's placement and scheduler ignore --healthz-listen-address: their health
    server listens on ":<port>" (pkg/healthz/server/server.go, net.Listen("tcp", ":%d")).
    It answers only /healthz (placement runs with --metadata-enabled=false: no
    /placement/state). Named here so that anything else exposed fails the test."""
    known = set()
    for name in ("placement", "scheduler"):
        argv = stack.processes[name].argv
        known.add((name, int(argv[argv.index("--healthz-port") + 1])))
    return known


def test_every_stack_process_listens_on_loopback_only(stack: Stack) -> None:
    leaders = {p.popen.pid for p in stack.processes.values() if p.popen is not None}
    sockets = listening_sockets(_group_pids(leaders))
    names = {p.popen.pid: n for n, p in stack.processes.items() if p.popen is not None}
    assert {names.get(pid) for _, _, pid in sockets} >= set(names.values()) - {None}
    exposed = {(names.get(pid, str(pid)), port) for a, port, pid in sockets if not _loopback(a)}
    assert exposed <= _upstream_exceptions(stack), f"listening beyond loopback: {exposed}"
    for _, port in _upstream_exceptions(stack):
        health = f"http://127.0.0.1:{port}"
        assert httpx.get(f"{health}/healthz", timeout=5).status_code == 200
        assert httpx.get(f"{health}/placement/state", timeout=5).status_code == 404


def _namespace_prefix() -> list[str]:
    """unshare for a new network namespace (as root, or mapped to root in a user namespace)."""
    prefix = ["unshare", "--net"] if os.geteuid() == 0 else ["unshare", "--map-root-user", "--net"]
    why = None
    if shutil.which("unshare") is None or shutil.which("ip") is None:
        why = "needs unshare (util-linux) and ip (iproute2)"
    elif subprocess.run([*prefix, "true"], capture_output=True, check=False).returncode != 0:
        why = "this machine does not allow creating a network namespace"
    if why:
        if os.environ.get("CI") == "true":
            pytest.fail(f"the offline test {why}")
        pytest.skip(why)
    return prefix


def test_stack_runs_with_only_loopback(tmp_path: Path) -> None:
    prefix = _namespace_prefix()
    ip = shutil.which("ip")
    script = f"{ip} link set lo up && exec {sys.executable} -m tests.integration.offline {tmp_path}"
    done = subprocess.run(
        [*prefix, "sh", "-c", script],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    logs = "\n".join(p.read_text(errors="replace")[-3000:] for p in tmp_path.glob("logs/*.log"))
    assert done.returncode == 0, f"{done.stdout}\n{done.stderr}\n{logs}"
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result == {"interfaces": ["lo"], "runtime_status": "COMPLETED"}, logs
