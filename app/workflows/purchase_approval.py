"""purchase_approval: auto-approve small orders, wait for a human on large ones, with a timeout.

cost < threshold --> [place_order] --> auto_approved
otherwise --> [check_budget] --> over the budget --> over_budget
          --> [request_approval] --> wait for "approval_received" or the timer
    approved --> [place_order] --> approved
    rejected --> rejected
    timeout  --> [release_reservation] --> cancelled

The budget check came after orders were already waiting: it is version v2, and v1 stays
registered, so an instance that started before it asks for approval at once, as it did then. v1
is the code those instances may have started on: the check first came as a patch (BUDGET_CHECK),
so v1 still checks the budget where the history says the patch was taken. New instances run v2,
never the patch: daprd 1.18.2 stalls, for good, a patched instance that an event reaches after it
completed (an approval sent twice), docs/changing-workflows.md.
"""

import json
from collections.abc import Callable, Generator
from datetime import UTC, timedelta
from typing import Any, Literal

import dapr.ext.workflow as wf
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic.json_schema import SkipJsonSchema

from app.config import Settings
from app.workflows.context import idempotency_key, log, replay_safe_log
from app.workflows.custom_status import DEADLINE, WAITING_FOR
from app.workflows.declared import Declared
from app.workflows.events import SignedEvent
from app.workflows.retry import OUTSIDE_RETRY

NAME = "purchase_approval"
APPROVAL_EVENT = "approval_received"
CHECK_BUDGET = "check_budget"
# The patch the budget check first came as (ctx.is_patched): only v1 reads it, for instances
# that took it before v2 existed (tests/histories/budget-check-patch/).
BUDGET_CHECK = "budget-check"


class PurchaseOrder(BaseModel):
    model_config = ConfigDict(strict=True)  # no silent coercion of a caller's values

    order_id: str = Field(min_length=1, max_length=200, examples=["order-1001"])
    product: str = Field(min_length=1, max_length=500, examples=["Laptop"])
    quantity: int = Field(ge=1, le=1_000_000, examples=[2])
    cost: float = Field(ge=0, le=1e12, examples=[5000])
    approval_timeout_seconds: float = Field(86_400, ge=1, le=30 * 86_400)
    # The service's policy, fixed into the input at start from APP_APPROVAL_THRESHOLD (a value a
    # caller sends is replaced), so it is not in the API's schema.
    approval_threshold: SkipJsonSchema[float | None] = Field(None, ge=0)


class ApprovalDecision(SignedEvent):
    """Decide on this purchase.

    The payload of the approval_received event."""

    # Absent, the event approves: Dapr's own approval sample sends only the approver's name.
    approved: bool = Field(
        True, json_schema_extra={"choices": {"true": "Approve", "false": "Reject"}}
    )
    approver: str = Field(
        min_length=1, max_length=200, title="Approver name", examples=["Jane Doe"]
    )
    comment: str | None = Field(None, max_length=2000)


class PurchaseResult(BaseModel):
    order_id: str
    status: Literal["auto_approved", "over_budget", "approved", "rejected", "cancelled"]
    approved_by: str | None = None
    comment: str | None = None
    authorized_by: str | None = None
    message: str

    @classmethod
    def decided(cls, order: "PurchaseOrder", decision: ApprovalDecision) -> "PurchaseResult":
        """The outcome of a human's decision, approved or rejected."""
        verdict = "Approved" if decision.approved else "Rejected"
        return cls(
            order_id=order.order_id,
            status="approved" if decision.approved else "rejected",
            approved_by=decision.approver,
            comment=decision.comment,
            authorized_by=decision.authorized_by,
            message=f"{verdict} by '{decision.approver}'",
        )


class BudgetCheck(BaseModel):
    within_budget: bool
    budget: float


def check_budget_activity(budget: float) -> Callable[..., BudgetCheck]:
    """The budget check as an activity: the budget is read when it runs, and kept in the
    history, so a replay sees the answer the instance got."""

    def check_budget(ctx: wf.WorkflowActivityContext, order: PurchaseOrder) -> BudgetCheck:
        """Is the order within the purchasing budget (APP_PURCHASE_BUDGET)?"""
        return BudgetCheck(within_budget=order.cost <= budget, budget=budget)

    return check_budget


def request_approval(ctx: wf.WorkflowActivityContext, order: PurchaseOrder) -> None:
    """Ask a human to approve the order (a notification in a real system)."""
    log.info(
        "approval requested for %s: %d x %s = %.2f",
        order.order_id,
        order.quantity,
        order.product,
        order.cost,
    )


def place_order(ctx: wf.WorkflowActivityContext, order: PurchaseOrder) -> str:
    """Place the order; the idempotency key makes a retried call place it once."""
    key = idempotency_key(ctx)
    log.info("order %s placed (idempotency key %s)", order.order_id, key)
    return key


def release_reservation(ctx: wf.WorkflowActivityContext, order: PurchaseOrder) -> None:
    """Compensation: give back what the order had reserved."""
    log.info("reservation for order %s released", order.order_id)


def purchase_approval_v1(
    ctx: wf.DaprWorkflowContext, order: PurchaseOrder
) -> Generator[Any, Any, PurchaseResult]:
    """v1, the code before v2: no budget check, unless the instance took it as the patch."""
    return (yield from _approve(ctx, order, budget_check=ctx.is_patched(BUDGET_CHECK)))


def purchase_approval(
    ctx: wf.DaprWorkflowContext, order: PurchaseOrder
) -> Generator[Any, Any, PurchaseResult]:
    """Place small orders at once; check the budget, then wait for a decision or the timeout."""
    return (yield from _approve(ctx, order, budget_check=True))


def _approve(
    ctx: wf.DaprWorkflowContext, order: PurchaseOrder, budget_check: bool
) -> Generator[Any, Any, PurchaseResult]:
    # The service always sets the threshold; without one, every order waits for a human.
    threshold = order.approval_threshold
    if threshold is not None and order.cost < threshold:
        yield ctx.call_activity(place_order, input=order, retry_policy=OUTSIDE_RETRY)
        return PurchaseResult(
            order_id=order.order_id, status="auto_approved", message="Auto-approved"
        )

    if budget_check:
        budget = BudgetCheck.model_validate(
            (yield ctx.call_activity(CHECK_BUDGET, input=order, retry_policy=OUTSIDE_RETRY))
        )
        if not budget.within_budget:
            return PurchaseResult(
                order_id=order.order_id,
                status="over_budget",
                message=f"Over budget: {order.cost:.2f} exceeds the budget of {budget.budget:.2f}",
            )
    yield ctx.call_activity(request_approval, input=order, retry_policy=OUTSIDE_RETRY)
    deadline = ctx.current_utc_datetime + timedelta(seconds=order.approval_timeout_seconds)
    timeout = ctx.create_timer(deadline)
    # What it waits for, visible in /status: the workflow clock (UTC) keeps it the same on replay.
    until = deadline.replace(tzinfo=UTC).isoformat()
    ctx.set_custom_status(json.dumps({WAITING_FOR: APPROVAL_EVENT, DEADLINE: until}))
    while True:
        approval = ctx.wait_for_external_event(APPROVAL_EVENT)
        if (yield wf.when_any([approval, timeout])) == timeout:
            ctx.set_custom_status(json.dumps({WAITING_FOR: None, "timed_out": True}))
            yield ctx.call_activity(release_reservation, input=order, retry_policy=OUTSIDE_RETRY)
            replay_safe_log(ctx, "order %s timed out", order.order_id)
            return PurchaseResult(
                order_id=order.order_id,
                status="cancelled",
                message=f"Cancelled: no approval within {order.approval_timeout_seconds:g} seconds",
            )
        try:
            decision = ApprovalDecision.model_validate(approval.get_result())
            break
        except ValidationError:
            # The API validates decisions; one raised around it must not fail the order.
            replay_safe_log(ctx, "order %s: malformed decision ignored", order.order_id)

    ctx.set_custom_status(json.dumps({WAITING_FOR: None, "decided_by": decision.approver}))
    if decision.approved:
        yield ctx.call_activity(place_order, input=order, retry_policy=OUTSIDE_RETRY)
    return PurchaseResult.decided(order, decision)


# The events this workflow waits for, with the payload the API validates before raising one.
EVENTS: dict[str, type[BaseModel]] = {APPROVAL_EVENT: ApprovalDecision}


def _threshold(order: PurchaseOrder, settings: Settings) -> PurchaseOrder:
    # The threshold is the service's policy, never the caller's.
    order.approval_threshold = settings.approval_threshold
    return order


DECLARED = Declared(
    NAME,
    purchase_approval,
    PurchaseOrder,
    example={
        "order_id": "order-1001",
        "product": "Laptop",
        "quantity": 2,
        "cost": 5000,
        "approval_timeout_seconds": 600,
    },
    activities=lambda settings: {
        CHECK_BUDGET: check_budget_activity(settings.purchase_budget),
        "request_approval": request_approval,
        "place_order": place_order,
        "release_reservation": release_reservation,
    },
    events=EVENTS,
    prepare=_threshold,
    versions=(("v1", purchase_approval_v1), ("v2", purchase_approval)),
    patches=(BUDGET_CHECK,),
)
