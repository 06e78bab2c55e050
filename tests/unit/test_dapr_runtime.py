"""The runtime found is the runtime pinned: fake binaries that print a version."""

import logging
from pathlib import Path

import pytest

from tools import dapr_runtime
from tools.dapr_runtime import RuntimeUnavailable, find_binaries

PINNED = "1.18.2"


def fake_runtime(directory: Path, version: str) -> Path:
    directory.mkdir(parents=True)
    for name in dapr_runtime.BINARIES:
        script = directory / name
        script.write_text(f"#!/bin/sh\necho {version}\n")
        script.chmod(0o755)
    return directory


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty home and cache, no DAPR_BIN_DIR: only what a test puts there exists."""
    monkeypatch.setattr(Path, "home", lambda: tmp_path / "home")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("DAPR_BIN_DIR", raising=False)
    return tmp_path / "home"


def test_dapr_bin_dir_at_the_pinned_version_is_used(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    chosen = fake_runtime(tmp_path / "bin", PINNED)
    monkeypatch.setenv("DAPR_BIN_DIR", str(chosen))
    assert find_binaries(PINNED) == chosen


def test_dapr_bin_dir_at_another_version_is_refused_with_what_to_do(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DAPR_BIN_DIR", str(fake_runtime(tmp_path / "bin", "1.15.0")))
    with pytest.raises(RuntimeUnavailable) as refused:
        find_binaries(PINNED)
    message = str(refused.value)
    assert "is Dapr 1.15.0" in message and f"pins {PINNED}" in message
    assert f"dapr init --slim --runtime-version {PINNED}" in message


def test_cli_install_at_the_pinned_version_is_used(home: Path) -> None:
    cli = fake_runtime(home / ".dapr" / "bin", f"v{PINNED}")
    assert find_binaries(PINNED) == cli


def test_cli_install_at_another_version_is_passed_over_for_the_cache(
    home: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    fake_runtime(home / ".dapr" / "bin", "1.14.4")
    cache = fake_runtime(dapr_runtime.cache_dir(PINNED), PINNED)
    with caplog.at_level(logging.WARNING, logger="dapr_runtime"):
        assert find_binaries(PINNED) == cache
    assert "is Dapr 1.14.4" in caplog.text and "--runtime-version 1.18.2" in caplog.text


def test_cli_install_at_another_version_and_no_cache_finds_nothing(home: Path) -> None:
    fake_runtime(home / ".dapr" / "bin", "1.14.4")
    assert find_binaries(PINNED) is None
