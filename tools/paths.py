"""Where things are: the repository's root, from which the tools and tests find its files."""

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
