"""`make run`: the service on a local Dapr sidecar, until Ctrl-C.

    python -m tools.run [--store sqlite|redis|postgres] [--port 8000] [--workdir .run]
                        [--retain completed=168h,failed=720h,terminated=168h]

The default store is SQLite in <workdir>/data, so workflows survive a restart with no server to
install; --store redis starts Debian's redis-server, --store postgres Debian's PostgreSQL, on a
free loopback port instead (data kept beside it). --retain changes how long finished instances
are kept (components/config.yaml has the defaults).
"""

import argparse
import logging
import os
import signal
import sys
import time
from pathlib import Path
from types import FrameType

from tools.components import parse_retention
from tools.dapr_runtime import RuntimeUnavailable
from tools.paths import ROOT
from tools.postgres import PostgresUnavailable
from tools.stack import STORES, Stack, StackError

log = logging.getLogger("run")
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
    args = parser.parse_args()

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
        )
        with stack:
            log.info(
                "\nService:    http://localhost:%d\nSwagger UI: http://localhost:%d/docs\n"
                "Store:      %s (data in %s)\nLogs:       %s\nCtrl-C stops everything.",
                args.port,
                args.port,
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


if __name__ == "__main__":
    raise SystemExit(main())
