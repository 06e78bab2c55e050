"""`tilt ci` with the project's Tiltfile on a real cluster, then checks through Tilt's forwards.

Run by `make e2e` (after `make cluster`, with the shell pointed at it); plain `pytest` leaves
these out (the `e2e` marker is deselected by default).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from tools.paths import ROOT

APP_URL = "http://localhost:8080"  # the Tiltfile's forward of the service
JAEGER_URL = "http://localhost:16686"  # the Tiltfile's forward of Jaeger's UI and query API
PROMETHEUS_URL = "http://localhost:9090"  # the Tiltfile's forward of Prometheus
TIMINGS: list[tuple[str, float]] = []
NOTES: list[str] = []
LOGS = ROOT / ".run" / "e2e"


@contextmanager
def timed(stage: str) -> Iterator[None]:
    started = time.monotonic()
    try:
        yield
    finally:
        TIMINGS.append((stage, time.monotonic() - started))


def note(line: str) -> None:
    """A finding printed in the summary (what survived a fault, what is not enforced)."""
    NOTES.append(line)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if TIMINGS:
        terminalreporter.section("e2e timings")
        for stage, seconds in TIMINGS:
            terminalreporter.write_line(f"{seconds:7.1f}s  {stage}")
    if NOTES:
        terminalreporter.section("e2e findings")
        for line in NOTES:
            terminalreporter.write_line(line)


def run(*cmd: str, timeout: float = 120, check: bool = True) -> str:
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    if check and out.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} failed ({out.returncode}):\n{out.stdout}\n"
                             f"{out.stderr}")
    return out.stdout


def kubectl(*args: str, timeout: float = 120, check: bool = True) -> str:
    return run("kubectl", *args, timeout=timeout, check=check)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Tilt:
    """`tilt ci`, then `tilt up` in the background for its port forwards, then `tilt down`; each
    with `args` for the Tiltfile (after `--`, e.g. `--store postgres`)."""

    def __init__(self, *args: str) -> None:
        self.args = ["--", *args] if args else []
        self.shown = " ".join(["", *self.args])  # in timings: "tilt ci -- --store postgres"
        self.port = _free_port()
        self.up: subprocess.Popen[bytes] | None = None
        self.down_done = False
        self.up_log = self.log("up")
        LOGS.mkdir(parents=True, exist_ok=True)

    def log(self, command: str) -> Path:
        words = ["tilt", command, *(arg.lstrip("-") for arg in self.args[1:])]
        return LOGS / f"{'-'.join(words)}.log"  # tilt-up.log, tilt-up-store-postgres.log

    def _command(self, command: str, *options: str) -> list[str]:
        return ["tilt", command, *options, *self.args]

    def _tilt(self, command: str, *options: str, timeout: float) -> None:
        path = self.log(command)
        with path.open("w") as sink:
            code = subprocess.run(self._command(command, *options), cwd=ROOT, stdout=sink,
                                  stderr=subprocess.STDOUT, timeout=timeout, check=False)
        if code.returncode != 0:
            state = LOGS / f"{path.stem}-cluster.log"
            state.write_text(_cluster_state())
            raise AssertionError(f"tilt {command} failed; log {path}:\n{_tail(path)}\n"
                                 f"the cluster then ({state}):\n{_tail(state, 60)}")

    def ci(self) -> None:
        self._tilt("ci", "--port", str(self.port), "--timeout", "15m", timeout=1000)

    def start_up(self) -> None:
        for url in (APP_URL, JAEGER_URL, PROMETHEUS_URL):
            port = int(url.rsplit(":", 1)[1])
            with socket.socket() as sock:
                # A forward whose port is taken only logs an error; the checks would then talk
                # to whatever holds the port.
                assert sock.connect_ex(("127.0.0.1", port)) != 0, f"port {port} is taken"
        sink = self.up_log.open("w")
        self.up = subprocess.Popen(self._command("up", "--stream", "--port", str(self.port)),
                                   cwd=ROOT, stdout=sink, stderr=subprocess.STDOUT,
                                   start_new_session=True)
        wait_until("Tilt's forward to the service", lambda: _ready(APP_URL), 300,
                   log=self.up_log)
        wait_until("Tilt's forward to Jaeger", lambda: _ready(JAEGER_URL, "/"), 120,
                   log=self.up_log)
        wait_until("Tilt's forward to Prometheus", lambda: _ready(PROMETHEUS_URL, "/-/ready"),
                   120, log=self.up_log)

    def stop_up(self) -> None:
        if self.up and self.up.poll() is None:
            os.killpg(self.up.pid, signal.SIGINT)
            try:
                self.up.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.up.pid, signal.SIGKILL)
                self.up.wait()
        self.up = None

    def down(self) -> None:
        self.stop_up()
        if not self.down_done:
            self.down_done = True
            self._tilt("down", timeout=600)


def _cluster_state() -> str:
    """What a failed `tilt ci` left: every pod with its containers, the events, and the logs of
    the service's containers (whether daprd was injected, started, or keeps restarting)."""
    columns = ("custom-columns=NS:.metadata.namespace,POD:.metadata.name,PHASE:.status.phase,"
               "CONTAINERS:.spec.containers[*].name,READY:.status.containerStatuses[*].ready,"
               "RESTARTS:.status.containerStatuses[*].restartCount")
    parts = [("pods", ["get", "pods", "-A", "-o", columns]),
             ("events", ["get", "events", "-A", "--sort-by=.lastTimestamp"])]
    selector = "app.kubernetes.io/name=workflow-service"
    for container in ("daprd", "app"):
        parts.append((f"the service's {container} log",
                      ["logs", "-l", selector, "-c", container, "--tail", "40", "--prefix"]))
    out = []
    for title, args in parts:
        try:
            done = subprocess.run(["kubectl", *args], capture_output=True, text=True, timeout=30,
                                  check=False)
            text = done.stdout + done.stderr
        except subprocess.TimeoutExpired:
            text = "(kubectl timed out)"
        out.append(f"== {title}\n{text}")
    return "\n".join(out)


def _tail(path: Path, lines: int = 40) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def _ready(base: str, path: str = "/readyz") -> bool:
    try:
        return httpx.get(base + path, timeout=5).status_code == 200
    except httpx.HTTPError:
        return False


def wait_until(what: str, check: Any, timeout: float, log: Path | None = None,
               interval: float = 1.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(interval)
    where = f"; log {log}:\n{_tail(log)}" if log else ""
    raise AssertionError(f"{what}: not within {timeout:.0f}s{where}")


@contextmanager
def deployed(*args: str, what: str) -> Iterator[Tilt]:
    """`tilt ci` and `tilt up` with the Tiltfile's `args`; `tilt down` unless a test did."""
    session = Tilt(*args)
    try:
        with timed(f"tilt ci{session.shown} ({what})"):
            session.ci()
        with timed("tilt up until its port forwards answer"):
            session.start_up()
        yield session
    finally:
        if not session.down_done:  # a test stopped early: still leave nothing deployed
            with timed(f"tilt down{session.shown}"):
                session.down()


def tilt_down_leaves_nothing(tilt: Tilt) -> None:
    """`tilt down` removes the service, the store, Jaeger and the Dapr control plane."""
    with timed(f"tilt down{tilt.shown}"):
        tilt.down()
    left = kubectl("get", "deployments,services,networkpolicies", "-l",
                   "app.kubernetes.io/part-of=workflow-service", "-o", "name")
    assert left.strip() == ""
    assert kubectl("get", "deployment", "dapr-operator", "-n", "dapr-system",
                   "--ignore-not-found", "-o", "name").strip() == ""


# One deployment per test module, down before the next module's comes up (they share the
# forwarded ports). A module deploying something else overrides `tilt`.
@pytest.fixture(scope="module")
def tilt() -> Iterator[Tilt]:
    note(f"cluster: kube context {kubectl('config', 'current-context').strip()}")
    with deployed(what="Dapr control plane, Redis, Jaeger, components, the service") as session:
        yield session


@pytest.fixture(scope="module")
def api(tilt: Tilt) -> Iterator[httpx.Client]:
    # A connection per request: a kept-alive one through Tilt's forward can be dead without the
    # client knowing (uvicorn's reload after the live-update check drops the pod's side).
    headers = {"Connection": "close"}
    with httpx.Client(base_url=APP_URL, timeout=60, headers=headers) as client:
        yield client
