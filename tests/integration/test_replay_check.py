"""`make replay` against a service on the real sidecar: its unfinished instances replay on this
code; an edit that would break them is named, instance by instance; an incomplete check says so."""

from collections.abc import Generator
from typing import Any

import dapr.ext.workflow as wf
import httpx
import pytest

from app.sidecar import sdk
from app.workflows import purchase_approval
from app.workflows.purchase_approval import PurchaseOrder
from tests.integration.polling import start, wait_for
from tools import replay
from tools.stack import Stack

ORDER = {"order_id": "o-1", "product": "Laptop", "quantity": 2, "cost": 5000}


def _budget(ctx: wf.DaprWorkflowContext, order: PurchaseOrder) -> Generator[Any, Any, Any]:
    yield ctx.call_activity("check_budget", input=order.model_dump(mode="json"))
    return (yield from purchase_approval.purchase_approval(ctx, order))


def test_make_replay_passes_the_running_instances_and_names_those_an_edit_would_break(
    api: httpx.Client, stack: Stack, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    waiting = [start(api, "purchase_approval", ORDER) for _ in range(3)]
    for iid in waiting:
        wait_for(api, iid, {"RUNNING"})
    url = stack.replicas[0].url
    assert replay.main(["--service", url]) == 0
    assert "would break" in capsys.readouterr().out

    runtime = wf.WorkflowRuntime()
    runtime.register_workflow(_budget, name=purchase_approval.NAME)
    monkeypatch.setattr(replay, "registry", lambda: sdk.registry_of(runtime))
    assert replay.main(["--service", url]) == 1
    out = capsys.readouterr().out
    for iid in waiting:
        assert f"WOULD BREAK {iid} (purchase_approval): " in out
    assert "check_budget" in out and "ctx.is_patched" in out


def test_make_replay_says_when_it_could_not_check(capsys: Any) -> None:
    assert replay.main(["--service", "http://127.0.0.1:9"]) == 2
    assert "could not be reached" in capsys.readouterr().err
