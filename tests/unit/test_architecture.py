"""The README's Architecture table holds: each import inside the app points down the table (or
stays within its row), so the table is the app's layering, not a wish."""

import ast
import re
from pathlib import Path

from tools.paths import ROOT

APP = ROOT / "app"


def _rows() -> list[list[str]]:
    """The app's rows of the table, top first: each as the paths it names, made whole
    (`rerun.py` after `app/api/listing.py` is `app/api/rerun.py`)."""
    section = (ROOT / "README.md").read_text().split("## Architecture\n", 1)[1]
    table = section[section.index("\n|") + 1 :].split("\n\n", 1)[0]
    rows = []
    for line in table.splitlines()[2:]:
        named = re.findall(r"`([^`]+)`", line.split("|")[1])
        if not named or not named[0].startswith("app/"):
            continue
        folder = named[0].rsplit("/", 1)[0]
        rows.append([named[0], *(f"{folder}/{name}" for name in named[1:])])
    return rows


def _row_of(module: Path, rows: list[list[str]]) -> int | None:
    """The row naming the file, else the folder holding it, else the folder's `<pattern>.py`;
    None for a package's bare __init__ (a docstring, no imports) that no row names."""
    path = module.relative_to(ROOT).as_posix()
    folder = module.parent.relative_to(ROOT).as_posix() + "/"
    for wanted in (path, folder, folder + "<pattern>.py"):
        for index, named in enumerate(rows):
            if wanted in named:
                return index
    if module.name == "__init__.py" and not _imported(module):
        return None
    raise AssertionError(f"{path} is in no row of the README's Architecture table")


def _imported(module: Path) -> set[Path]:
    """The app's files that `module` imports, a package as its __init__."""
    found = set()
    for node in ast.walk(ast.parse(module.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [f"{node.module}.{alias.name}" for alias in node.names] + [node.module]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        else:
            continue
        for name in names:
            if not name.startswith("app."):
                continue
            base = ROOT.joinpath(*name.split("."))
            for candidate in (base.with_suffix(".py"), base / "__init__.py"):
                if candidate.is_file():
                    found.add(candidate)
                    break
    return found


def test_every_import_inside_the_app_points_down_the_readme_table() -> None:
    rows = _rows()
    upward = []
    for module in sorted(APP.rglob("*.py")):
        here = _row_of(module, rows)
        for target in _imported(module):
            there = _row_of(target, rows)
            if here is not None and there is not None and there < here:
                upward.append(f"{module.relative_to(ROOT)} -> {target.relative_to(ROOT)}")
    assert not upward, f"imports pointing up the README's Architecture table: {upward}"
