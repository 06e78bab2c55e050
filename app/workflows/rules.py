"""The task rules shared by task_chaining and hybrid: validate, enrich, score.

Pure functions, so that unit tests check the rules without a sidecar and the activities stay thin.
"""

from pydantic import BaseModel, ConfigDict, Field

MIN_TITLE = 5
MIN_DESCRIPTION = 10
BASE_SCORE = 50
HIGH_PRIORITY_BONUS = 30
BACKEND_BONUS = 5


class TaskItem(BaseModel):
    model_config = ConfigDict(strict=True)  # no silent coercion of a caller's values

    task_id: str = Field(min_length=1, max_length=200, examples=["task-001"])
    title: str = Field(max_length=10_000, examples=["URGENT: fix login"])
    description: str = Field(
        max_length=100_000, examples=["The login API returns 500 for SSO users"]
    )


class Validation(BaseModel):
    task_id: str
    is_valid: bool
    issues: list[str] = []


class Enriched(BaseModel):
    task_id: str
    tags: list[str]


class Scored(BaseModel):
    task_id: str
    tags: list[str]
    score: int


def validate(task: TaskItem) -> Validation:
    """Every problem with the task, not just the first."""
    issues = []
    # Spaces around a text do not count: "    " is no title.
    if len(task.title.strip()) < MIN_TITLE:
        issues.append(f"Title too short (min {MIN_TITLE} characters)")
    if len(task.description.strip()) < MIN_DESCRIPTION:
        issues.append(f"Description too short (min {MIN_DESCRIPTION} characters)")
    return Validation(task_id=task.task_id, is_valid=not issues, issues=issues)


def enrich(task: TaskItem) -> Enriched:
    tags = []
    if "urgent" in task.title.lower():
        tags.append("high-priority")
    if "api" in task.description.lower():
        tags.append("backend")
    return Enriched(task_id=task.task_id, tags=tags)


def score(enriched: Enriched) -> Scored:
    points = BASE_SCORE
    if "high-priority" in enriched.tags:
        points += HIGH_PRIORITY_BONUS
    if "backend" in enriched.tags:
        points += BACKEND_BONUS
    return Scored(task_id=enriched.task_id, tags=enriched.tags, score=points)
