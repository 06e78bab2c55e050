"""What the local stack launches, with which flags: every process on loopback, on free ports."""

import json
import signal
import socket
import sys
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from tools.postgres import Cluster
from tools.probes import Probe, command_ok, http_ok, redis_ping

APP_ID = "workflow-service"
LOOPBACK = "127.0.0.1"

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


@dataclass(frozen=True)
class Launch:
    """One process to start: its command line, its environment and how to tell it is ready."""

    name: str
    argv: list[str]
    ready: Probe
    env: dict[str, str] = field(default_factory=dict)
    stop_signal: signal.Signals = signal.SIGTERM


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


def flags(options: dict[str, object]) -> list[str]:
    """{"--port": 1} -> ["--port", "1"]."""
    return [str(part) for flag, value in options.items() for part in (flag, value)]


def control_plane(
    bin_dir: Path,
    name: str,
    port: int,
    extra: dict[str, object],
    switches: tuple[str, ...] = (),
) -> Launch:
    """placement or scheduler: loopback only, its own healthz and metrics ports.

    Their health server binds every interface whatever --healthz-listen-address says (Dapr
    1.18.2's pkg/healthz/server/server.go listens on ":<port>"): it must serve /healthz alone."""
    healthz = free_port()
    options = {
        "--port": port,
        "--listen-address": LOOPBACK,
        "--healthz-port": healthz,
        "--healthz-listen-address": LOOPBACK,
        "--metrics-port": free_port(),
        "--metrics-listen-address": LOOPBACK,
        **extra,
    }
    return Launch(
        name,
        [str(bin_dir / name), *flags(options), *switches],
        http_ok(f"http://{LOOPBACK}:{healthz}/healthz"),
    )


def placement(bin_dir: Path, port: int) -> Launch:
    extra: dict[str, object] = {"--initial-cluster": f"dapr-placement-0={LOOPBACK}:{free_port()}"}
    # Go bool flags take their value in the same word. Off by default too, but said here: with
    # it on, the all-interfaces health port would also serve the placement tables.
    return control_plane(bin_dir, "placement", port, extra, ("--metadata-enabled=false",))


def scheduler(bin_dir: Path, port: int, data: Path) -> Launch:
    extra = {
        "--etcd-data-dir": data / "scheduler",
        "--etcd-client-port": free_port(),
        "--etcd-client-listen-address": LOOPBACK,
        "--etcd-initial-cluster": f"dapr-scheduler-server-0=http://{LOOPBACK}:{free_port()}",
    }
    return control_plane(bin_dir, "scheduler", port, extra)


def redis(port: int, data: Path) -> Launch:
    options = {
        "--port": port,
        "--bind": LOOPBACK,
        "--dir": data / "redis",
        "--appendonly": "yes",
        "--save": "",
    }
    return Launch("redis", ["redis-server", *flags(options)], redis_ping(LOOPBACK, port))


def postgres(cluster: Cluster) -> Launch:
    """Debian's PostgreSQL on loopback; its cluster is made by Cluster.init before the start.

    Stopped with SIGINT, its "fast" shutdown: SIGTERM would wait for daprd to disconnect."""
    return Launch(
        "postgres",
        cluster.server_argv(LOOPBACK),
        command_ok(cluster.ready_argv()),
        stop_signal=signal.SIGINT,
    )


def daprd(
    bin_dir: Path,
    r: Replica,
    workdir: Path,
    placement_port: int,
    scheduler_port: int,
    token: dict[str, str],
) -> Launch:
    options = {
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
        "--resources-path": workdir / "resources",
        "--config": workdir / "config.yaml",
        "--placement-host-address": f"{LOOPBACK}:{placement_port}",
        "--scheduler-host-address": f"{LOOPBACK}:{scheduler_port}",
        "--log-level": "info",
    }
    return Launch(
        f"daprd-{r.index}",
        [str(bin_dir / "daprd"), *flags(options)],
        http_ok(f"http://{LOOPBACK}:{r.http_port}/v1.0/healthz/outbound"),
        # What the Dapr CLI sets: without it daprd looks for a non-loopback interface and
        # exits on a machine (or network namespace) that has none.
        env={"DAPR_HOST_IP": LOOPBACK, **token},
    )


def app(
    r: Replica, token: dict[str, str], app_env: dict[str, str], app_dir: Path | None = None
) -> Launch:
    """The app; with `app_dir`, its `app` package from there (another version of the code)."""
    uvicorn: dict[str, object] = {"--host": LOOPBACK, "--port": r.app_port, "--workers": 1}
    if app_dir is not None:
        uvicorn["--app-dir"] = app_dir
    argv = [
        sys.executable,
        "-m",
        "uvicorn",
        "app.main:create_app",
        "--factory",
        *flags(uvicorn),
        "--no-access-log",
    ]
    env = {
        "DAPR_GRPC_PORT": str(r.grpc_port),
        "DAPR_HTTP_PORT": str(r.http_port),
        **token,
        **app_env,
    }
    return Launch(f"app-{r.index}", argv, http_ok(f"{r.url}/readyz"), env=env)


def prometheus(binary: Path, port: int, workdir: Path) -> Launch:
    """Prometheus on loopback, scraping the stack's apps and daprds (its config written by
    prometheus_config into the work dir), its data beside the store's, kept two days."""
    options = {
        "--config.file": workdir / "prometheus.yml",
        "--storage.tsdb.path": workdir / "data" / "prometheus",
        "--storage.tsdb.retention.time": "2d",
        "--web.listen-address": f"{LOOPBACK}:{port}",
    }
    url = f"http://{LOOPBACK}:{port}"
    return Launch("prometheus", [str(binary), *flags(options)], http_ok(f"{url}/-/ready"))


def prometheus_config(replicas: list[Replica], cluster_config: Path) -> str:
    """The cluster's Prometheus configuration (k8s/prometheus/prometheus.yml: its intervals, its
    jobs, its rule files), with this stack's loopback targets in place of the cluster's discovery
    (JSON, which YAML reads)."""
    config = yaml.safe_load(cluster_config.read_text())
    config["rule_files"] = [str(cluster_config.parent / f) for f in config["rule_files"]]
    ports = {
        "workflow-service": [r.app_port for r in replicas],
        "daprd": [r.metrics_port for r in replicas],
    }
    for job in config["scrape_configs"]:
        del job["dns_sd_configs"]
        job["static_configs"] = [{"targets": [f"{LOOPBACK}:{p}" for p in ports[job["job_name"]]]}]
    return json.dumps(config, indent=2)
