"""promtool, which checks and tests the alert rules (k8s/prometheus/), and the prometheus server
`make run` scrapes the service with: the ones on PATH, or the ones unpacked from Debian's
prometheus package into this machine's cache. Only the files are unpacked: nothing is installed,
and nothing is started here. `python -m tools.promtool` prints promtool's path, unpacking it first
when it is missing."""

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from tools.paths import cache

PACKAGE = "prometheus"
NEEDED = "{binary} was not found: it is in Debian's prometheus package (apt-get install prometheus)"


def find(binary: str = "promtool") -> Path | None:
    on_path = shutil.which(binary)
    unpacked = cache(PACKAGE) / "usr" / "bin" / binary
    return Path(on_path) if on_path else unpacked if unpacked.exists() else None


def _download(directory: str) -> bool:
    command = ["apt-get", "download", "-qq", PACKAGE]
    return subprocess.run(command, cwd=directory, capture_output=True).returncode == 0


def fetch(binary: str = "promtool") -> Path:
    found = find(binary)
    if found is not None:
        return found
    needed = NEEDED.format(binary=binary)
    if not (shutil.which("apt-get") and shutil.which("dpkg-deb")):
        raise SystemExit(needed)
    with tempfile.TemporaryDirectory() as directory:
        # a fresh machine's package lists may be empty: root refreshes them once
        if not _download(directory) and os.geteuid() == 0:
            subprocess.run(["apt-get", "update", "-qq"], check=True)
            _download(directory)
        debs = list(Path(directory).glob("*.deb"))
        if not debs:
            raise SystemExit(needed)
        subprocess.run(["dpkg-deb", "-x", str(debs[0]), str(cache(PACKAGE))], check=True)
    found = find(binary)
    if found is None:
        raise SystemExit(needed)
    return found


if __name__ == "__main__":
    sys.stdout.write(f"{fetch()}\n")
