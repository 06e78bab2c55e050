"""The local stack: placement, scheduler, a state store, and one or more daprd + app pairs.

Used by `make run` (``python -m tools.stack``) and by the test fixtures. Every process listens on
loopback on a free port, logs to ``<workdir>/logs/<name>.log`` and is stopped on exit; children
are also asked by the kernel to die with the launcher, so a killed launcher leaves no orphan.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import yaml

from tools.dapr_runtime import ROOT, ensure_binaries

APP_ID = "workflow-service"
LOOPBACK = "127.0.0.1"
_PR_SET_PDEATHSIG = 1


class StackError(RuntimeError):
    """A process did not start or become healthy; the message names its log."""


_given: set[int] = set()


def free_port() -> int:
    """A free loopback port, never one this process has handed out before."""
    while True:
        with socket.socket() as s:
            s.bind((LOOPBACK, 0))
            port = int(s.getsockname()[1])
        if port not in _given:
            _given.add(port)
            return port


# Looked up once here: after fork, in a child of a threaded parent, only the call is safe.
_prctl: Callable[..., int] | None
try:
    _prctl = ctypes.CDLL("libc.so.6", use_errno=True).prctl
except OSError:  # not Linux: children then die only when stopped
    _prctl = None


def _die_with_parent() -> None:
    if _prctl is not None:
        _prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


@dataclass
class Process:
    name: str
    argv: list[str]
    log_path: Path
    env: dict[str, str] = field(default_factory=dict)
    cwd: Path = ROOT
    popen: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            log.write(f"\n--- start {time.strftime('%H:%M:%S')}: {' '.join(self.argv)}\n".encode())
            log.flush()
            self.popen = subprocess.Popen(
                self.argv,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env={**os.environ, **self.env},
                cwd=self.cwd,
                start_new_session=True,
                preexec_fn=_die_with_parent,
            )

    @property
    def running(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM, then SIGKILL after the timeout."""
        if self.popen is None:
            return
        # The whole group, even when its leader is gone: no child is left behind.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, signal.SIGTERM)
        try:
            self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
        self.popen = None

    def kill(self) -> None:
        """SIGKILL the process and its group: a crash, as far as the others can tell."""
        if self.popen is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, signal.SIGKILL)
        self.popen.wait(10)
        self.popen = None

    def log_tail(self, lines: int = 60) -> str:
        if not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


@dataclass
class Replica:
    """One daprd and the app it serves."""

    index: int
    app_port: int
    http_port: int = field(default_factory=free_port)
    grpc_port: int = field(default_factory=free_port)
    internal_grpc_port: int = field(default_factory=free_port)
    metrics_port: int = field(default_factory=free_port)

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.app_port}"


class Stack:
    """Start, stop, kill and restart the pieces of a local Dapr workflow stack."""

    def __init__(
        self,
        workdir: Path,
        *,
        store: str = "redis",
        replicas: int = 1,
        app_ports: list[int] | None = None,
        api_token: str | None = None,
        app_env: dict[str, str] | None = None,
        otlp_endpoint: str | None = None,
    ) -> None:
        if store not in ("redis", "sqlite"):
            raise ValueError("store is 'redis' or 'sqlite'")
        self.workdir = workdir.resolve()
        self.store, self.api_token, self.otlp_endpoint = store, api_token, otlp_endpoint
        self.app_env = app_env or {}
        self.bin = ensure_binaries()
        self.placement_port, self.scheduler_port = free_port(), free_port()
        self.redis_port = free_port()
        ports = app_ports or [free_port() for _ in range(replicas)]
        self.replicas = [Replica(i, p) for i, p in enumerate(ports)]
        self.processes: dict[str, Process] = {}
        self._health: dict[str, Callable[[], bool]] = {}
        self._define()

    # -- definitions -----------------------------------------------------------------------------

    def _log(self, name: str) -> Path:
        return self.workdir / "logs" / f"{name}.log"

    def _add(self, name: str, argv: list[str], healthy: Callable[[], bool], **kw: Any) -> None:
        self.processes[name] = Process(name, argv, self._log(name), **kw)
        self._health[name] = healthy

    def _define(self) -> None:
        data = self.workdir / "data"
        self._control_plane(
            "placement",
            self.placement_port,
            {
                "--initial-cluster": f"dapr-placement-0={LOOPBACK}:{free_port()}",
            },
        )
        self._control_plane(
            "scheduler",
            self.scheduler_port,
            {
                "--etcd-data-dir": data / "scheduler",
                "--etcd-client-port": free_port(),
                "--etcd-client-listen-address": LOOPBACK,
                "--etcd-initial-cluster": f"dapr-scheduler-server-0=http://{LOOPBACK}:{free_port()}",
            },
        )
        if self.store == "redis":
            redis = {
                "--port": self.redis_port,
                "--bind": LOOPBACK,
                "--dir": data / "redis",
                "--appendonly": "yes",
                "--save": "",
            }
            self._add("redis", ["redis-server", *_flags(redis)], _redis_ping(self.redis_port))
        for replica in self.replicas:
            self._define_replica(replica)

    def _control_plane(self, name: str, port: int, extra: dict[str, object]) -> None:
        """placement or scheduler: loopback only, its own healthz and metrics ports."""
        healthz = free_port()
        flags = {
            "--port": port,
            "--listen-address": LOOPBACK,
            "--healthz-port": healthz,
            "--healthz-listen-address": LOOPBACK,
            "--metrics-port": free_port(),
            "--metrics-listen-address": LOOPBACK,
            **extra,
        }
        self._add(
            name,
            [str(self.bin / name), *_flags(flags)],
            _http_ok(f"http://{LOOPBACK}:{healthz}/healthz"),
        )

    def _define_replica(self, r: Replica) -> None:
        token = {"DAPR_API_TOKEN": self.api_token} if self.api_token else {}
        daprd = {
            "--app-id": APP_ID,
            "--app-port": r.app_port,
            "--app-channel-address": LOOPBACK,
            "--dapr-listen-addresses": LOOPBACK,
            "--dapr-http-port": r.http_port,
            "--dapr-grpc-port": r.grpc_port,
            "--dapr-internal-grpc-port": r.internal_grpc_port,
            "--dapr-internal-grpc-listen-address": LOOPBACK,
            "--metrics-port": r.metrics_port,
            "--metrics-listen-address": LOOPBACK,
            "--resources-path": self.workdir / "resources",
            "--config": self.workdir / "config.yaml",
            "--placement-host-address": f"{LOOPBACK}:{self.placement_port}",
            "--scheduler-host-address": f"{LOOPBACK}:{self.scheduler_port}",
            "--log-level": "info",
        }
        self._add(
            f"daprd-{r.index}",
            [str(self.bin / "daprd"), *_flags(daprd)],
            _http_ok(f"http://{LOOPBACK}:{r.http_port}/v1.0/healthz/outbound"),
            # What the Dapr CLI sets: without it daprd looks for a non-loopback interface and
            # exits on a machine (or network namespace) that has none.
            env={"DAPR_HOST_IP": LOOPBACK, **token},
        )
        uvicorn = {"--host": LOOPBACK, "--port": r.app_port, "--workers": 1}
        self._add(
            f"app-{r.index}",
            [
                sys.executable,
                "-m",
                "uvicorn",
                "app.main:create_app",
                "--factory",
                *_flags(uvicorn),
                "--no-access-log",
            ],
            _http_ok(f"{r.url}/readyz"),
            env={
                "DAPR_GRPC_PORT": str(r.grpc_port),
                "DAPR_HTTP_PORT": str(r.http_port),
                **token,
                **self.app_env,
            },
        )

    # -- resources -------------------------------------------------------------------------------

    def write_resources(self) -> None:
        """Render components/ for this stack: the same files, local hosts and paths."""
        resources = self.workdir / "resources"
        resources.mkdir(parents=True, exist_ok=True)
        (self.workdir / "data" / "redis").mkdir(parents=True, exist_ok=True)
        if self.store == "redis":
            store = _load("statestore.yaml")
            _set_meta(store, "redisHost", f"{LOOPBACK}:{self.redis_port}")
        else:
            store = _load("local/statestore-sqlite.yaml")
            _set_meta(store, "connectionString", str(self.workdir / "data" / "state.db"))
        (resources / "statestore.yaml").write_text(yaml.safe_dump(store, sort_keys=False))
        config = _load("config.yaml")
        tracing = config["spec"]["tracing"]
        if self.otlp_endpoint:
            tracing["otel"]["endpointAddress"] = self.otlp_endpoint
        else:
            tracing["samplingRate"] = "0"  # no collector here: trace nothing rather than fail
        (self.workdir / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))

    # -- lifecycle -------------------------------------------------------------------------------

    def start(self, *names: str, timeout: float = 60.0) -> None:
        """Start the named processes (all, in dependency order, when none is named)."""
        if not names:
            self.write_resources()
            names = tuple(self.processes)
        for name in names:
            self.processes[name].start()
            self.wait_healthy(name, timeout)

    def wait_healthy(self, name: str, timeout: float = 60.0) -> None:
        process, healthy = self.processes[name], self._health[name]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not process.running:
                raise StackError(f"{name} exited; log {process.log_path}:\n{process.log_tail()}")
            if healthy():
                return
            time.sleep(0.2)
        raise StackError(
            f"{name} not healthy after {timeout:.0f}s; log {process.log_path}:\n"
            f"{process.log_tail()}"
        )

    def stop(self, *names: str) -> None:
        """Stop the named processes, or all of them in reverse order."""
        for name in names or tuple(reversed(self.processes)):
            self.processes[name].stop()

    def kill(self, name: str) -> None:
        self.processes[name].kill()

    def restart(self, name: str, *, crash: bool = False, timeout: float = 60.0) -> None:
        if crash:
            self.kill(name)
        else:
            self.stop(name)
        self.start(name, timeout=timeout)

    def logs(self) -> str:
        """Every process's log tail, for a failing test to show."""
        return "\n".join(
            f"===== {p.name} ({p.log_path})\n{p.log_tail()}" for p in self.processes.values()
        )

    def __enter__(self) -> Stack:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()


def _flags(flags: dict[str, object]) -> list[str]:
    """{"--port": 1} -> ["--port", "1"]."""
    return [str(part) for flag, value in flags.items() for part in (flag, value)]


def _load(relative: str) -> Any:
    return yaml.safe_load((ROOT / "components" / relative).read_text())


def _set_meta(component: dict[str, Any], name: str, value: str) -> None:
    for item in component["spec"]["metadata"]:
        if item["name"] == name:
            item["value"] = value
            return
    raise KeyError(name)


def _http_ok(url: str) -> Callable[[], bool]:
    def check() -> bool:
        try:
            return httpx.get(url, timeout=2.0).status_code < 300
        except httpx.HTTPError:
            return False

    return check


def _redis_ping(port: int) -> Callable[[], bool]:
    def check() -> bool:
        try:
            with socket.create_connection((LOOPBACK, port), timeout=1.0) as s:
                s.sendall(b"PING\r\n")
                return s.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    return check
