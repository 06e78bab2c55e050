"""Stages with progress, elapsed time and, on failure, where to look and what to try."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path


class StageFailed(RuntimeError):
    """A stage failed; the message names the stage, its log and what to try."""


def elapsed(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"


def say(message: str) -> None:
    """Progress goes to stderr, so `make -s cluster-env` prints only the shell lines."""
    sys.stderr.write(message + "\n")
    sys.stderr.flush()


class Stages:
    """A numbered list of stages: `with stages.run("name", log=..., hint=...):`."""

    def __init__(self, title: str, names: Sequence[str]) -> None:
        self.title = title
        self.names = list(names)
        self.started = time.monotonic()
        self.times: dict[str, float] = {}

    def _next(self, name: str) -> str:
        index = self.names.index(name) if name in self.names else len(self.names)
        later = self.names[index + 1 :]
        return f"; next: {later[0]}" if later else ""

    @contextmanager
    def run(self, name: str, log: Path | None = None, hint: str = "") -> Iterator[None]:
        number = self.names.index(name) + 1 if name in self.names else 0
        say(f"[{number}/{len(self.names)}] {name}{self._next(name)}"
            f"  (elapsed {elapsed(time.monotonic() - self.started)})")
        begun = time.monotonic()
        try:
            yield
        except (StageFailed, subprocess.CalledProcessError, OSError, TimeoutError) as error:
            where = f"\n  log: {log}" if log else ""
            tail = _tail(log) if log else ""
            todo = f"\n  try: {hint}" if hint else ""
            raise StageFailed(
                f"{self.title}: stage '{name}' failed after {elapsed(time.monotonic() - begun)}: "
                f"{error}{where}{tail}{todo}"
            ) from error
        self.times[name] = time.monotonic() - begun
        say(f"      done in {elapsed(self.times[name])}")

    def summary(self) -> str:
        parts = ", ".join(f"{name} {elapsed(t)}" for name, t in self.times.items())
        return f"{self.title}: {elapsed(time.monotonic() - self.started)} ({parts})"


def _tail(log: Path, lines: int = 15) -> str:
    try:
        text = log.read_text(errors="replace").splitlines()[-lines:]
    except OSError:
        return ""
    return "\n  last lines:\n    " + "\n    ".join(text) if text else ""
