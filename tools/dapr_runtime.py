"""Find or build the Dapr runtime binaries (daprd, placement, scheduler).

Order of preference:
1. ``$DAPR_BIN_DIR`` if it is set and holds all three binaries;
2. the Dapr CLI's ``~/.dapr/bin`` (what ``dapr init --slim`` leaves on a laptop);
   either only when its ``daprd --version`` is the pinned version: a mismatch in
   ``$DAPR_BIN_DIR`` is an error, one in ``~/.dapr/bin`` a warning before the next choice;
3. a per-version cache (``~/.cache/dapr-workflow-service/dapr/<version>``), built from the
   Go module proxy on first use.

Prints the directory holding the binaries. ``python -m tools.dapr_runtime``.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from tools.paths import ROOT, cache

BINARIES = ("daprd", "placement", "scheduler")
MODULE = "github.com/dapr/dapr"

log = logging.getLogger("dapr_runtime")


class RuntimeUnavailable(RuntimeError):
    """The Dapr binaries are neither installed nor buildable here."""


def dapr_version() -> str:
    """The runtime version the project pins (one file, read by the Tiltfile too)."""
    return os.environ.get("DAPR_VERSION") or (ROOT / "DAPR_VERSION").read_text().strip()


def cache_dir(version: str) -> Path:
    return cache("dapr", version)


def _complete(directory: Path) -> bool:
    return all(os.access(directory / name, os.X_OK) for name in BINARIES)


def installed_version(directory: Path) -> str:
    """What ``daprd --version`` in `directory` prints (its first word, without a leading v)."""
    try:
        out = subprocess.run(
            [str(directory / "daprd"), "--version"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        return f"unknown ({error})"
    words = (out.stdout or out.stderr).split()
    return words[0].removeprefix("v") if words else "unknown (no output)"


def _mismatch(directory: Path, found: str, version: str) -> str:
    return (
        f"{directory}/daprd is Dapr {found}, but this project pins {version} (DAPR_VERSION). "
        f"Run `dapr init --slim --runtime-version {version}`, point DAPR_BIN_DIR at a "
        f"{version} runtime, or unset DAPR_BIN_DIR to build {version} into {cache_dir(version)}."
    )


def find_binaries(version: str | None = None) -> Path | None:
    """The first directory that holds all three binaries at `version`, without building."""
    version = version or dapr_version()
    chosen = os.environ.get("DAPR_BIN_DIR")
    for candidate, explicit in (
        *([(Path(chosen), True)] if chosen else []),
        (Path.home() / ".dapr" / "bin", False),
    ):
        if not _complete(candidate):
            continue
        found = installed_version(candidate)
        if found == version:
            return candidate
        if explicit:
            raise RuntimeUnavailable(_mismatch(candidate, found, version))
        log.warning("Not using %s", _mismatch(candidate, found, version))
    cache = cache_dir(version)
    return cache if _complete(cache) else None


def _go() -> str:
    go = shutil.which("go")
    if go is None:
        raise RuntimeUnavailable(
            "No Dapr runtime found: install the Dapr CLI and run `dapr init --slim`, "
            "or install Go so the runtime can be built from the Go module proxy."
        )
    return go


def module_dir(go: str, version: str) -> Path:
    """The dapr module's source at `version`, downloaded from the Go module proxy if need be."""
    out = subprocess.run(
        [go, "mod", "download", "-json", f"{MODULE}@v{version}"],
        capture_output=True,
        text=True,
        check=False,
    )
    info = json.loads(out.stdout or "{}")
    if out.returncode != 0 or "Dir" not in info:
        raise RuntimeUnavailable(
            f"Cannot download {MODULE}@v{version}: {info.get('Error') or out.stderr.strip()}"
        )
    return Path(info["Dir"])


def _build_one(go: str, src: Path, name: str, out: Path, version: str) -> None:
    """`go build` one command, printing a heartbeat line as packages compile."""
    ldflags = f"-s -w -X {MODULE}/pkg/buildinfo.version={version}"
    cmd = [
        go,
        "build",
        "-v",
        "-trimpath",
        "-tags",
        "stablecomponents",
        "-ldflags",
        ldflags,
        "-o",
        str(out),
        f"./cmd/{name}",
    ]
    env = {**os.environ, "CGO_ENABLED": "0", "GOTOOLCHAIN": os.environ.get("GOTOOLCHAIN", "auto")}
    started = time.monotonic()
    proc = subprocess.Popen(
        cmd, cwd=src, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    assert proc.stdout is not None
    tail: list[str] = []
    for packages, line in enumerate(proc.stdout, start=1):
        tail = [*tail[-30:], line.rstrip()]
        if packages % 100 == 0:
            log.info("  %s: %d packages, %.0fs", name, packages, time.monotonic() - started)
    if proc.wait() != 0:
        raise RuntimeUnavailable(f"Building {name} failed:\n" + "\n".join(tail))
    log.info("  %s built in %.0fs", name, time.monotonic() - started)


def build(version: str) -> Path:
    """Build the three binaries from the Go module proxy into the per-version cache."""
    go = _go()
    target = cache_dir(version)
    staging = target.with_name(target.name + ".partial")
    staging.mkdir(parents=True, exist_ok=True)
    log.info("Building Dapr %s from the Go module proxy into %s (first time only)", version, target)
    src = module_dir(go, version)
    started = time.monotonic()
    for name in BINARIES:
        if not os.access(staging / name, os.X_OK):
            _build_one(go, src, name, staging / name, version)
    if target.exists():
        shutil.rmtree(target)
    staging.rename(target)
    log.info("Dapr %s ready in %.0fs", version, time.monotonic() - started)
    return target


def ensure_binaries(version: str | None = None) -> Path:
    """The directory with daprd, placement and scheduler; builds them when none is found."""
    version = version or dapr_version()
    return find_binaries(version) or build(version)


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    try:
        directory = ensure_binaries()
    except RuntimeUnavailable as error:
        log.error("%s", error)
        return 1
    sys.stdout.write(f"{directory}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
