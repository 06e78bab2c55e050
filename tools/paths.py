"""Where things are: the repository's root, from which the tools and tests find its files."""

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def cache(*parts: str) -> Path:
    """A directory in this machine's cache for what the project builds or unpacks once."""
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base.joinpath("dapr-workflow-service", *parts)
