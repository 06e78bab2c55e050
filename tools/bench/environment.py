"""On what the figures were taken: machine, Python, Dapr runtime and SDK, state store."""

import os
import platform
import subprocess
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

from tools.dapr_runtime import dapr_version
from tools.postgres import bin_dir


def environment(stores: list[str]) -> dict[str, Any]:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gb": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        "python": platform.python_version(),
        "dapr_runtime": dapr_version(),
        "dapr_sdk": _version("dapr-ext-workflow"),
        "state_stores": {store: _store_version(store) for store in stores},
    }


def _store_version(store: str) -> str:
    """The server's own words: Redis with AOF, Debian's PostgreSQL; SQLite is inside daprd."""
    if store == "sqlite":
        return "SQLite embedded in daprd (components-contrib state.sqlite)"
    if store == "postgres":
        command = [str(bin_dir() / "postgres"), "--version"]
    else:
        command = ["redis-server", "--version"]
    return subprocess.run(command, capture_output=True, text=True).stdout.strip()


def _version(package: str) -> str:
    return version(package)
