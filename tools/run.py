"""`make run`: the service on a local Dapr sidecar, until Ctrl-C.

    python -m tools.run [--store sqlite|redis|postgres] [--port 8000] [--workdir .run]
                        [--retain completed=168h,failed=720h,terminated=168h]
                        [--prometheus-port 9090]

The default store is SQLite in <workdir>/data, so workflows survive a restart with no server to
install; --store redis starts Debian's redis-server, --store postgres Debian's PostgreSQL, on a
free loopback port instead (data kept beside it). --retain changes how long finished instances
are kept (components/config.yaml has the defaults). Prometheus scrapes the app and daprd (whose
metrics port stays on loopback) with the service's alert rules, on --prometheus-port (0: none), when
its binary is on PATH or Debian's package can be unpacked (tools/promtool.py); else the service
runs without it, and says so.
"""

import argparse
import logging
import os
import signal
import socket
import sys
import time
from pathlib import Path
from types import FrameType

from tools import promtool
from tools.components import parse_retention
from tools.dapr_runtime import RuntimeUnavailable
from tools.launch import LOOPBACK
from tools.paths import ROOT, cache
from tools.postgres import PostgresUnavailable
from tools.stack import STORES, Stack, StackError

log = logging.getLogger("run")
DEBIAN_PAGES = Path("/usr/share/prometheus/web/templates")
# Locally a monitor may check this machine's own services (the README's example checks the
# service itself); the environment can still turn it off.
LOCAL_ENV = {"APP_MONITOR_ALLOW_PRIVATE": os.environ.get("APP_MONITOR_ALLOW_PRIVATE", "true")}


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    logging.getLogger("httpx").setLevel(logging.WARNING)
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--store", choices=STORES, default="sqlite")
    parser.add_argument("--retain", type=parse_retention, default={}, metavar="STATE=DURATION,...")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--workdir", type=Path, default=ROOT / ".run")
    parser.add_argument("--prometheus-port", type=int, default=9090)
    args = parser.parse_args()
    prometheus = _prometheus() if args.prometheus_port else None

    def stop(signum: int, _: FrameType | None) -> None:
        # Once: a second Ctrl-C must not cut the orderly stop of the store short.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        stack = Stack(
            args.workdir,
            store=args.store,
            app_ports=[args.port],
            app_env=LOCAL_ENV,
            retention=args.retain,
            prometheus=prometheus,
            prometheus_port=_free_or_any(args.prometheus_port),
        )
        with stack:
            log.info(
                "\nService:    http://localhost:%d\nSwagger UI: http://localhost:%d/docs\n"
                "Prometheus: %s\nStore:      %s (data in %s)\nLogs:       %s\n"
                "Ctrl-C stops everything.",
                args.port,
                args.port,
                _prometheus_url(stack),
                args.store,
                args.workdir / "data",
                args.workdir / "logs",
            )
            while all(p.running for p in stack.processes.values()):
                time.sleep(0.5)
            dead = [p for p in stack.processes.values() if not p.running]
            log.error("%s stopped unexpectedly:\n%s", dead[0].name, dead[0].log_tail())
            return 1
    except (RuntimeUnavailable, PostgresUnavailable, StackError) as error:
        log.error("%s", error)
        return 1
    except KeyboardInterrupt:
        log.info("stopped")
        return 0


def _prometheus() -> Path | None:
    try:
        return promtool.fetch("prometheus")
    except SystemExit as missing:
        log.warning("Prometheus not started: %s", missing)
        return None


def _prometheus_url(stack: Stack) -> str:
    if stack.prometheus is None:
        return "not started"
    url = f"http://localhost:{stack.prometheus_port}"
    # Debian's build reads its pages from /usr/share: the copy unpacked into the cache serves
    # its API (queries, targets, rules, alerts), and its pages once the package is installed.
    if stack.prometheus.is_relative_to(cache(promtool.PACKAGE)) and not DEBIAN_PAGES.exists():
        url += " (its API: /api/v1/alerts, /api/v1/query?query=...; pages need it installed)"
    return url


def _free_or_any(port: int) -> int | None:
    """`port` when nothing listens on it, else None: the stack picks a free one."""
    with socket.socket() as probe:
        return None if probe.connect_ex((LOOPBACK, port)) == 0 else port


if __name__ == "__main__":
    raise SystemExit(main())
