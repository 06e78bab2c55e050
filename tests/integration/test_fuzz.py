"""Schemathesis against the real stack, with every check and every phase (its stateful phase
follows the API's links), in a network namespace with only loopback, with API keys off and on.

No input it generates may cause a 5xx, a hang, an undocumented answer or a response that breaks
the spec. The checks left out are named, with the reason, in fuzz_namespace.py; its settings
are in schemathesis.toml.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tools.paths import ROOT

TIMEOUT = 900


@pytest.mark.parametrize("keys", [False, True], ids=["keys-off", "keys-on"])
def test_schemathesis_finds_nothing(tmp_path: Path, keys: bool) -> None:
    unshare = shutil.which("unshare")
    assert unshare and shutil.which("ip"), (
        "the fuzz run needs unshare (util-linux) and ip (iproute2) for its loopback-only namespace"
    )
    # Not root: a user namespace of its own makes the network namespace this user's to make.
    as_user = [] if os.geteuid() == 0 else ["--map-root-user"]
    command = [
        unshare,
        "--net",
        *as_user,
        "--",
        sys.executable,
        "-m",
        "tests.integration.fuzz_namespace",
        str(tmp_path / "stack"),
    ]
    run = subprocess.run(
        [*command, *(["--keys"] if keys else [])],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    summary = run.stdout[run.stdout.find("=== FAILURES") :] or run.stdout[-20_000:]
    assert run.returncode == 0, f"{summary}\n{run.stderr[-5_000:]}"
