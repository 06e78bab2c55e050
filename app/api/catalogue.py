"""What the API offers per workflow, as each workflow module declares it (app/workflows/
declared.py): its input model, an example, its events, what the service fixes into its input."""

from app.runtime import WORKFLOWS
from app.workflows import purchase_approval
from app.workflows.declared import Declared

CATALOG: dict[str, Declared] = {spec.name: spec for spec in WORKFLOWS}
# Swagger UI's examples for POST /workflows/{id}/events/{event_name}.
EVENT_EXAMPLES = {
    "approve": {
        "summary": f"{purchase_approval.APPROVAL_EVENT} for {purchase_approval.NAME}",
        "value": {"approved": True, "approver": "Jane Doe", "comment": "Within budget"},
    }
}
