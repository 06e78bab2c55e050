"""What the workflows read from the SDK's contexts (app/workflows/context.py)."""

from app.workflows.context import idempotency_key
from tests.unit.fakes import FakeActivityContext


def test_idempotency_key_is_the_task_execution_id_not_the_task_id() -> None:
    key = idempotency_key(FakeActivityContext())  # type: ignore[arg-type]
    assert key == "wf-1:00000000-0000-5000-8000-000000000007"
