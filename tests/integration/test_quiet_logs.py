"""A quiet stack, probed for readiness as Kubernetes and `make run` probe it, leaves no ERROR
line in daprd's log: operators who learn to ignore ERROR lines miss the real ones."""

import time
from pathlib import Path

import httpx

from tools.stack import Stack

PROBES = 15


def test_readiness_probes_leave_no_error_line_in_daprds_log(
    fresh: tuple[Stack, httpx.Client],
) -> None:
    stack, api = fresh
    for _ in range(PROBES):
        assert api.get("/readyz").status_code == 200
        time.sleep(1)
    log = (Path(stack.workdir) / "logs" / "daprd-0.log").read_text()
    errors = [line for line in log.splitlines() if "level=error" in line]
    assert errors == [], errors[:3]
