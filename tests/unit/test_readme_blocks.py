"""The README runner reads every marked block and understands every documented output."""

from tests.integration.readme import INSTANCE_CHECK, blocks, fragment, matches
from tools.paths import ROOT


def test_every_documented_output_in_the_marked_blocks_can_be_checked() -> None:
    marked = blocks((ROOT / "README.md").read_text()) + blocks((ROOT / "docs/api.md").read_text())
    assert marked and all(marked)
    for block in marked:
        for step in block:
            for expected in step.expected:
                if not expected.startswith("HTTP/"):
                    found = INSTANCE_CHECK.match(expected)
                    fragment(found.group(2) if found else expected)  # raises if not JSON


def test_dots_stand_for_any_value_rest_of_object_list_or_string() -> None:
    documented = fragment('{"a": ..., "b": [1, ...], "c": "...+00:00", "d": [...], ...}')
    actual = {"a": None, "b": [1, 2], "c": "2026-01-01T00:00:00+00:00", "d": [3], "e": 0}
    assert matches(documented, actual)
    assert not matches(documented, {**actual, "c": "2026-01-01T00:00:00Z"})
    assert not matches(fragment('"x": [1]'), {"x": [1, 2]})
