import pytest

from app.workflows import rules
from app.workflows.rules import TaskItem


def item(title: str = "A fine title", description: str = "A long enough description") -> TaskItem:
    return TaskItem(task_id="t1", title=title, description=description)


def test_validate_lists_every_problem() -> None:
    verdict = rules.validate(item(title="Bug", description="short"))
    assert not verdict.is_valid
    assert verdict.issues == [
        "Title too short (min 5 characters)",
        "Description too short (min 10 characters)",
    ]


def test_validate_accepts_the_minimum_lengths() -> None:
    assert rules.validate(item(title="12345", description="1234567890")).is_valid


def test_validate_ignores_surrounding_whitespace() -> None:
    assert not rules.validate(item(title="   ab   ")).is_valid


@pytest.mark.parametrize(
    ("title", "description", "tags", "score"),
    [
        ("URGENT: fix login", "The login API fails", ["high-priority", "backend"], 85),
        ("urgent thing", "Nothing technical here", ["high-priority"], 80),
        ("Routine work", "Update the Api docs", ["backend"], 55),
        ("Routine work", "Nothing technical here", [], 50),
    ],
)
def test_tags_from_title_and_description_set_the_score(
    title: str, description: str, tags: list[str], score: int
) -> None:
    enriched = rules.enrich(item(title, description))
    assert enriched.tags == tags
    assert rules.score(enriched).score == score
