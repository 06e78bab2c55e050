"""On what the figures were taken: machine, Python, Dapr runtime and SDK, state store."""

import os
import platform
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

from tools.dapr_runtime import dapr_version


def environment() -> dict[str, Any]:
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
        "state_store": "redis (local, AOF)",
    }


def _version(package: str) -> str:
    return version(package)
