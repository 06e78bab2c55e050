"""One local stack per directory: a second one is refused before it writes or starts anything."""

import os
from pathlib import Path

import pytest

from tools.stack import StackError, claim


def test_a_directory_in_use_is_refused_at_once_naming_its_holder(tmp_path: Path) -> None:
    held = claim(tmp_path)
    with pytest.raises(StackError, match=rf"in use by another stack \(process {os.getpid()}\)"):
        claim(tmp_path)
    held.close()
    claim(tmp_path).close()  # free again once its holder let go
