"""What the cluster changes on this machine, recorded before it boots and undone at teardown.

`snapshot()` records iptables, network interfaces, mounts and sysctls before anything starts;
`restore()` removes exactly what appeared since (rules, chains, interfaces, mounts) and puts back
every sysctl value that changed. Daemons are started with their PID recorded, and stopped by it.
"""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import shutil
import signal
import subprocess
import time
from pathlib import Path

from tools.cluster.progress import say
from tools.supervise import stat_fields

TABLES = ("filter", "nat", "mangle", "raw")
# Sysctls that change on their own; everything else under these prefixes is ours to restore.
SYSCTL_PREFIXES = ("net.ipv4.", "net.ipv6.conf.all.", "net.ipv6.conf.default.", "net.bridge.",
                   "net.netfilter.", "vm.", "kernel.panic", "kernel.keys.")
SYSCTL_VOLATILE = ("net.netfilter.nf_conntrack_count", "vm.stat_interval", "vm.nr_pdflush",
                   "net.ipv4.tcp_mem", "net.ipv4.udp_mem", "net.ipv4.route.", "vm.drop_caches")


def sh(*cmd: str, check: bool = True, quiet: bool = False) -> str:
    out = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if check and out.returncode != 0:
        raise subprocess.CalledProcessError(out.returncode, cmd, out.stdout, out.stderr)
    if out.returncode != 0 and not quiet:
        say(f"      ({' '.join(cmd)}: {out.stderr.strip()})")
    return out.stdout


def links() -> list[str]:
    return sorted(line.split(":")[1].strip().split("@")[0]
                  for line in sh("ip", "-o", "link", "show").splitlines())


def mounts() -> list[str]:
    return [line.split()[4] for line in Path("/proc/self/mountinfo").read_text().splitlines()]


def sysctls() -> dict[str, str]:
    out = sh("sysctl", "-a", check=False, quiet=True)
    values = {}
    for line in out.splitlines():
        key, _, value = line.partition(" = ")
        if key.startswith(SYSCTL_PREFIXES) and not key.startswith(SYSCTL_VOLATILE):
            values[key] = value
    return values


FAMILIES = ("iptables", "ip6tables")


def iptables(family: str, table: str) -> list[str]:
    return sh(f"{family}-save", "-t", table, check=False, quiet=True).splitlines()


def tables(family: str) -> list[str]:
    """The tables that exist (iptables creates a table, empty, on first use)."""
    return [line[1:] for line in sh(f"{family}-save", check=False, quiet=True).splitlines()
            if line.startswith("*")]


def _rulesets() -> dict[str, dict[str, list[str]]]:
    return {f: {t: iptables(f, t) for t in tables(f) if t in TABLES} for f in FAMILIES}


def snapshot(record: Path) -> None:
    """Write what the machine looks like before the cluster (kept until teardown)."""
    record.write_text(json.dumps({
        "links": links(), "mounts": mounts(), "sysctls": sysctls(), "iptables": _rulesets(),
    }, indent=1))


def _chains(dump: list[str]) -> dict[str, str]:
    """chain -> policy ('-' for user chains)."""
    return {line[1:].split()[0]: line.split()[1] for line in dump if line.startswith(":")}


def _rules(dump: list[str]) -> list[str]:
    return [line for line in dump if line.startswith("-A ")]


def restore_iptables(before: dict[str, dict[str, list[str]]]) -> list[str]:
    """Delete every rule, chain and table added since the snapshot; put back changed policies."""
    undone = []
    for family in FAMILIES:
        for table in [t for t in tables(family) if t in TABLES]:
            now, then = iptables(family, table), before[family].get(table, [])
            old_rules, old_chains = set(_rules(then)), _chains(then)
            for rule in reversed(_rules(now)):
                if rule not in old_rules:
                    # iptables-save quotes comments; split them the way the shell would.
                    subprocess.run([family, "-t", table, "-D", *shlex.split(rule)[1:]],
                                   capture_output=True, check=False)
                    undone.append(f"{family} {table}: {rule}")
            for chain, policy in _chains(now).items():
                if chain not in old_chains and policy == "-":
                    sh(family, "-t", table, "-F", chain, check=False, quiet=True)
                    sh(family, "-t", table, "-X", chain, check=False, quiet=True)
                    undone.append(f"{family} {table}: chain {chain}")
                elif policy != "-" and old_chains.get(chain, "ACCEPT") != policy:
                    sh(family, "-t", table, "-P", chain, old_chains.get(chain, "ACCEPT"))
                    undone.append(f"{family} {table}: policy {chain}")
            if table not in before[family] and shutil.which("nft"):
                nft_family = "ip" if family == "iptables" else "ip6"
                sh("nft", "delete", "table", nft_family, table, check=False, quiet=True)
                undone.append(f"{family} table {table}")
    return undone


def restore(record: Path) -> list[str]:
    """Undo everything that differs from the snapshot; returns what was undone."""
    if not record.exists():
        return []
    before = json.loads(record.read_text())
    undone = []
    for target in reversed(mounts()):
        if target not in before["mounts"]:
            sh("umount", "-l", target, check=False, quiet=True)
            undone.append(f"mount {target}")
    for name in links():
        if name not in before["links"]:
            sh("ip", "link", "delete", name, check=False, quiet=True)
            undone.append(f"interface {name}")
    undone += restore_iptables(before["iptables"])
    now = sysctls()
    for key, value in before["sysctls"].items():
        if key in now and now[key] != value:
            sh("sysctl", "-q", "-w", f"{key}={value}", check=False)
            undone.append(f"sysctl {key}={value}")
    return undone


def leftovers(record: Path) -> list[str]:
    """What still differs from the snapshot (empty after a clean teardown)."""
    before = json.loads(record.read_text())
    left = [f"mount {m}" for m in mounts() if m not in before["mounts"]]
    left += [f"interface {n}" for n in links() if n not in before["links"]]
    for family in FAMILIES:
        for table in [t for t in tables(family) if t in TABLES]:
            old = set(_rules(before["iptables"][family].get(table, [])))
            left += [f"{family} {table}: {r}" for r in _rules(iptables(family, table))
                     if r not in old]
            if table not in before["iptables"][family] and shutil.which("nft"):
                left.append(f"{family} table {table}")
    now = sysctls()
    left += [f"sysctl {k}: {now[k]} (was {v})" for k, v in before["sysctls"].items()
             if k in now and now[k] != v]
    return left


# -- daemons ---------------------------------------------------------------------------------

def start(name: str, cmd: list[str], piddir: Path, logdir: Path,
          env: dict[str, str] | None = None) -> int:
    """Start a daemon in its own session, its output in logdir/name.log, its PID recorded."""
    log = (logdir / f"{name}.log").open("a")
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                            start_new_session=True, env={**os.environ, **(env or {})})
    (piddir / f"{name}.pid").write_text(str(proc.pid))
    return proc.pid


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    fields = stat_fields(pid)  # None if it went since the signal
    return fields is not None and fields[0] != "Z"


def running(name: str, piddir: Path) -> bool:
    pidfile = piddir / f"{name}.pid"
    return pidfile.exists() and alive(int(pidfile.read_text()))


def stop_pid(pid: int, grace: float = 10.0) -> None:
    """SIGTERM, then SIGKILL after `grace` seconds."""
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 5.0)):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if not alive(pid):
                with contextlib.suppress(ChildProcessError):
                    os.waitpid(pid, os.WNOHANG)
                return
            time.sleep(0.1)


def stop(name: str, piddir: Path, grace: float = 10.0) -> None:
    pidfile = piddir / f"{name}.pid"
    if pidfile.exists():
        stop_pid(int(pidfile.read_text()), grace)
        pidfile.unlink()


def pids_with_arg(needle: str) -> list[int]:
    """Processes whose command line contains `needle` (a path unique to this cluster)."""
    found = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                if needle in (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode():
                    found.append(int(proc.name))
            except OSError:
                continue
    return found


def cgroup_pids(parent: str) -> list[int]:
    """Every process in cgroup v1 hierarchies under `parent` (e.g. kubepods)."""
    pids: set[int] = set()
    for hierarchy in Path("/sys/fs/cgroup").iterdir():
        # os.walk, not rglob: a pod's cgroup removed during the walk is passed over, not an error
        for directory, _, files in os.walk(hierarchy / parent):
            if "cgroup.procs" in files:
                try:
                    pids.update(int(p) for p in Path(directory, "cgroup.procs").read_text().split())
                except OSError:
                    continue
    return sorted(pids)


def remove_cgroups(parent: str) -> None:
    """Remove cgroup directories under `parent`, deepest first (they must be empty)."""
    for hierarchy in Path("/sys/fs/cgroup").iterdir():
        root = hierarchy / parent
        if root.is_dir():
            nested = sorted((p for p in root.rglob("*") if p.is_dir()),
                            key=lambda p: len(p.parts), reverse=True)
            for directory in [*nested, root]:
                with contextlib.suppress(OSError):
                    directory.rmdir()
