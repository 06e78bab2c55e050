"""The local stack: placement, scheduler, a state store, one or more daprd + app pairs, and
(when given its binary) a Prometheus scraping them.

The store is one of STORES: SQLite (a file daprd opens itself), Redis or PostgreSQL (a server
this stack runs, its data under <workdir>/data).

Used by `make run` (tools/run.py) and by the test fixtures. Every process listens on loopback on
a free port (tools/launch.py), logs to ``<workdir>/logs/<name>.log`` and is stopped on exit
(tools/supervise.py). This module starts them in order, waits until each is ready, and stops,
kills or restarts any of them.
"""

from __future__ import annotations

import fcntl
import os
import time
from pathlib import Path
from typing import IO

from tools import launch
from tools.components import write_resources
from tools.dapr_runtime import ensure_binaries
from tools.launch import LOOPBACK, Launch, Replica, free_port
from tools.paths import ROOT
from tools.postgres import Cluster
from tools.probes import Probe
from tools.supervise import Process

STORES = ("sqlite", "redis", "postgres")


class StackError(RuntimeError):
    """A process did not start or become healthy; the message names its log."""


def claim(workdir: Path) -> IO[str]:
    """Hold ``<workdir>/stack.lock`` while this stack runs: two stacks in one directory would
    share the scheduler's data, the logs and the components. The lock goes with the open file,
    so with this process however it ends; the file names the holder's process id."""
    workdir.mkdir(parents=True, exist_ok=True)
    lock = (workdir / "stack.lock").open("a+")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        lock.seek(0)
        holder = lock.read().strip() or "unknown"
        lock.close()
        raise StackError(
            f"{workdir} is in use by another stack (process {holder}): stop that one, or give "
            "this one a directory of its own (make run WORKDIR=..., or --workdir)"
        ) from None
    lock.truncate(0)
    lock.write(f"{os.getpid()}\n")
    lock.flush()
    return lock


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
        retention: dict[str, str] | None = None,
        app_dir: Path | None = None,
        prometheus: Path | None = None,
        prometheus_port: int | None = None,
        workflow_settings: dict[str, int] | None = None,
    ) -> None:
        if store not in STORES:
            raise ValueError(f"store is one of {', '.join(STORES)}")
        self.workdir = workdir.resolve()
        self.store, self.api_token, self.otlp_endpoint = store, api_token, otlp_endpoint
        self.app_env, self.retention, self.app_dir = app_env or {}, retention, app_dir
        self.prometheus, self.workflow_settings = prometheus, workflow_settings
        self.prometheus_port = prometheus_port or free_port()
        self.bin = ensure_binaries()
        self.placement_port, self.scheduler_port = free_port(), free_port()
        self.redis_port = free_port()
        self.postgres = Cluster(self.workdir, free_port())
        ports = app_ports or [free_port() for _ in range(replicas)]
        self.replicas = [Replica(i, p) for i, p in enumerate(ports)]
        self.processes: dict[str, Process] = {}
        self._ready: dict[str, Probe] = {}
        self._lock: IO[str] | None = None
        for process in self._launches():
            self._add(process)

    def _launches(self) -> list[Launch]:
        """Everything to start, in dependency order."""
        data = self.workdir / "data"
        token = {"DAPR_API_TOKEN": self.api_token} if self.api_token else {}
        launches = [
            launch.placement(self.bin, self.placement_port),
            launch.scheduler(self.bin, self.scheduler_port, data),
        ]
        if self.store == "redis":
            launches.append(launch.redis(self.redis_port, data))
        elif self.store == "postgres":
            launches.append(launch.postgres(self.postgres))
        for r in self.replicas:
            launches.append(
                launch.daprd(
                    self.bin, r, self.workdir, self.placement_port, self.scheduler_port, token
                )
            )
            launches.append(launch.app(r, token, self.app_env, self.app_dir))
        if self.prometheus is not None:
            launches.append(launch.prometheus(self.prometheus, self.prometheus_port, self.workdir))
        return launches

    def _add(self, spec: Launch) -> None:
        log = self.workdir / "logs" / f"{spec.name}.log"
        self.processes[spec.name] = Process(
            spec.name, spec.argv, log, env=spec.env, stop_signal=spec.stop_signal
        )
        self._ready[spec.name] = spec.ready

    @property
    def store_process(self) -> str | None:
        """The store's server among the processes; SQLite has none."""
        return self.store if self.store in self.processes else None

    def write_resources(self) -> None:
        """Render components/ for this stack (the same files, local hosts and paths), and make
        the store's data directory (initdb, for PostgreSQL)."""
        data = self.workdir / "data"
        (data / "redis").mkdir(parents=True, exist_ok=True)
        metadata = {
            "redis": {"redisHost": f"{LOOPBACK}:{self.redis_port}"},
            "sqlite": {"connectionString": str(data / "state.db")},
        }
        if self.store == "postgres":
            self.postgres.init(self.workdir / "logs" / "initdb.log")
            metadata["postgres"] = {"connectionString": self.postgres.connection_string(LOOPBACK)}
        write_resources(
            self.workdir,
            store=self.store,
            metadata=metadata[self.store],
            otlp_endpoint=self.otlp_endpoint,
            retention=self.retention,
            workflow=self.workflow_settings,
        )
        if self.prometheus is not None:
            cluster = ROOT / "k8s" / "prometheus" / "prometheus.yml"
            config = launch.prometheus_config(self.replicas, cluster)
            (self.workdir / "prometheus.yml").write_text(config)

    # -- lifecycle -------------------------------------------------------------------------------

    def start(self, *names: str, timeout: float = 60.0) -> None:
        """Start the named processes (all, in dependency order, when none is named)."""
        if not names:
            self.write_resources()
            names = tuple(self.processes)
        for name in names:
            if name == "postgres":
                self.postgres.clear_stale_lock()
            self.processes[name].start()
            self.wait_healthy(name, timeout)

    def wait_healthy(self, name: str, timeout: float = 60.0) -> None:
        process, ready = self.processes[name], self._ready[name]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not process.running:
                raise StackError(f"{name} exited; log {process.log_path}:\n{process.log_tail()}")
            if ready():
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

    def deploy(self, app_dir: Path | None = None) -> None:
        """A deploy: every replica's app stopped, then started again on the code in `app_dir`
        (None: this checkout's), against the same sidecars and store."""
        self.app_dir = app_dir
        apps = [launch for launch in self._launches() if launch.name.startswith("app-")]
        self.stop(*(a.name for a in apps))
        for spec in apps:
            self._add(spec)
        self.start(*(a.name for a in apps))

    def logs(self) -> str:
        """Every process's log tail, for a failing test to show."""
        return "\n".join(
            f"===== {p.name} ({p.log_path})\n{p.log_tail()}" for p in self.processes.values()
        )

    def __enter__(self) -> Stack:
        self._lock = claim(self.workdir)  # before anything in it is written or started
        try:
            self.start()
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *_: object) -> None:
        try:
            self.stop()
        finally:
            if self._lock is not None:
                self._lock.close()
                self._lock = None
