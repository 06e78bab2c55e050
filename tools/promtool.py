"""promtool, which checks and tests the alert rules (k8s/prometheus/): the one on PATH, or the one
unpacked from Debian's prometheus package into this machine's cache. Only the files are unpacked:
no Prometheus server is installed or started. `python -m tools.promtool` prints its path,
unpacking it first when it is missing."""

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from tools.paths import cache

PACKAGE = "prometheus"
NEEDED = "promtool is needed for the alert rules' tests: apt-get install prometheus (Debian)"


def find() -> Path | None:
    on_path = shutil.which("promtool")
    unpacked = cache(PACKAGE) / "usr" / "bin" / "promtool"
    return Path(on_path) if on_path else unpacked if unpacked.exists() else None


def _download(directory: str) -> bool:
    command = ["apt-get", "download", "-qq", PACKAGE]
    return subprocess.run(command, cwd=directory, capture_output=True).returncode == 0


def fetch() -> Path:
    found = find()
    if found is not None:
        return found
    if not (shutil.which("apt-get") and shutil.which("dpkg-deb")):
        raise SystemExit(NEEDED)
    with tempfile.TemporaryDirectory() as directory:
        # a fresh machine's package lists may be empty: root refreshes them once
        if not _download(directory) and os.geteuid() == 0:
            subprocess.run(["apt-get", "update", "-qq"], check=True)
            _download(directory)
        debs = list(Path(directory).glob("*.deb"))
        if not debs:
            raise SystemExit(NEEDED)
        subprocess.run(["dpkg-deb", "-x", str(debs[0]), str(cache(PACKAGE))], check=True)
    found = find()
    if found is None:
        raise SystemExit(NEEDED)
    return found


if __name__ == "__main__":
    sys.stdout.write(f"{fetch()}\n")
