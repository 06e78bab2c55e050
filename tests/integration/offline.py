"""Run inside a network namespace that has only loopback: the stack starts, a workflow completes.

    python -m tests.integration.offline <workdir>

Prints one JSON line: the namespace's interfaces and the workflow's final status.
"""

import json
import socket
import sys
from pathlib import Path

import httpx

from tests.integration.polling import start, wait_for
from tools.stack import Stack

CHAIN = {"task_id": "offline", "title": "No network", "description": "Only loopback here"}


def main(workdir: Path) -> int:
    with (
        Stack(workdir, store="sqlite") as stack,
        httpx.Client(base_url=stack.replicas[0].url, timeout=30) as api,
    ):
        final = wait_for(api, start(api, "task_chaining", CHAIN))
    interfaces = sorted(name for _, name in socket.if_nameindex())
    sys.stdout.write(
        json.dumps({"interfaces": interfaces, "runtime_status": final["runtime_status"]})
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main(Path(sys.argv[1])))
