"""Payloads read from the sidecar: JSON values, or their text when they cannot pass as JSON."""

import json

import pytest

from app.sidecar import InstanceState, convert
from app.sidecar.sdk import pb
from tests.unit.fakes import PagesFake, client_for, nested
from tools.paths import ROOT


def read(payload: str) -> InstanceState:
    """The state the client makes of a GetInstance answer with this output and custom status."""
    state = pb.WorkflowState(
        instanceId="po",
        name="purchase_approval",
        workflowStatus=pb.ORCHESTRATION_STATUS_RUNNING,
        output=convert.text(payload),
        customStatus=convert.text(payload),
    )
    found = convert.state(pb.GetInstanceResponse(exists=True, workflowState=state))
    assert found is not None
    return found


@pytest.mark.parametrize(
    "payload",
    [
        "[" * 300 + "]" * 300,  # deeper than the pages and /status could render
        "[" * 5000 + "]" * 5000,  # deeper than Python can decode
        '{"waiting_for": "\\ud800"}',  # a lone surrogate: not Unicode
        "not JSON",
    ],
)
def test_a_payload_that_cannot_pass_as_json_is_passed_on_as_its_text(payload: str) -> None:
    state = read(payload)
    assert state.output == state.custom_status == payload
    fake = PagesFake()
    fake.states["po"] = state
    with client_for(fake) as http:
        for path in ("/status/po", "/instances/po", "/"):
            assert http.get(path).status_code == 200, path


def test_json_within_the_bounds_is_passed_on_as_json() -> None:
    assert read(json.dumps(nested(64))).output == nested(64)
    assert read('{"smile": "\\ud83d\\ude00"}').output == {"smile": "\U0001f600"}  # a pair


def test_event_forms_ignore_a_waiting_for_that_is_not_a_name() -> None:
    fake = PagesFake()
    fake.add("po", "purchase_approval", "RUNNING", custom_status={"waiting_for": ["approval"]})
    with client_for(fake) as http:
        assert http.get("/instances/po").status_code == 200


def test_a_history_event_read_back_from_the_api_is_the_sidecars_message_again() -> None:
    """convert.history_event undoes convert.event, for every kind a recorded history holds."""
    for path in sorted((ROOT / "tests" / "histories").glob("*.json")):
        for recorded in json.loads(path.read_text())["events"]:
            message = convert.history_event(recorded)
            as_api = convert.event(message)  # as GET /workflows/{id}/history sends it
            as_api["timestamp"] = as_api["timestamp"] and as_api["timestamp"].isoformat()
            assert convert.history_event(as_api) == message, (path.name, recorded["kind"])
