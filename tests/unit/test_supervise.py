"""Reading /proc for the processes the tools start: names with spaces, processes that go."""

import os
import shutil
import subprocess
import time
from pathlib import Path

from tools.cluster.host import alive
from tools.supervise import descendants, stat_fields


def test_a_name_with_spaces_and_parentheses_does_not_shift_the_fields(tmp_path: Path) -> None:
    odd = tmp_path / "a b) (c"
    shutil.copy(shutil.which("sleep") or "/bin/sleep", odd)
    child = subprocess.Popen([str(odd), "30"])
    try:
        fields = stat_fields(child.pid)
        assert fields is not None and fields[0] in "RSD" and int(fields[1]) == os.getpid()
        assert child.pid in descendants(os.getpid()) and alive(child.pid)
        child.kill()
        deadline = time.monotonic() + 10
        while (fields := stat_fields(child.pid)) and fields[0] != "Z":
            assert time.monotonic() < deadline
            time.sleep(0.01)
        assert not alive(child.pid)  # killed, not yet reaped: a zombie is not alive
    finally:
        child.kill()
        child.wait()


def test_a_process_that_is_gone_reads_as_none_and_not_alive() -> None:
    child = subprocess.Popen(["true"])
    child.wait()  # reaped: its /proc entry is gone
    assert stat_fields(child.pid) is None
    assert not alive(child.pid)
