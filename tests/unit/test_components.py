"""tools/components.py: the retention setting, as `make run RETAIN=...` passes it."""

import pytest

from tools.components import parse_retention


def test_retention_setting_is_state_equals_duration_pairs() -> None:
    assert parse_retention("completed=1h, failed=72h") == {"completed": "1h", "failed": "72h"}
    assert parse_retention("") == {}


@pytest.mark.parametrize("text", ["finished=1h", "completed", "completed:1h"])
def test_retention_setting_refuses_unknown_states_and_bad_pairs(text: str) -> None:
    with pytest.raises(ValueError, match="retention"):
        parse_retention(text)
