"""A person opens /docs on a machine that reaches nothing else, starts every workflow, approves."""

import json
import re

import httpx
from playwright.sync_api import Page, expect

from tests.browser.conftest import KEY, OWNER, SHOTS, Watch
from tests.integration.polling import wait_for

WORKFLOWS = ("task_chaining", "fan_out_fan_in", "hybrid", "monitor", "purchase_approval")


def authorize(page: Page) -> None:
    page.get_by_role("button", name="Authorize").first.click()
    page.get_by_label("Value:").fill(KEY)
    page.get_by_role("button", name="Apply credentials").click()
    page.get_by_role("button", name="Close").click()


def approve_from_swagger_ui(page: Page, instance_id: str) -> None:
    """The event endpoint offers the event the workflow waits for, and an approval as its body."""
    summary = page.get_by_role(
        "button", name=re.compile(r"^POST \/workflows\/\{instance_id\}\/events")
    )
    summary.click()
    operation = page.locator(".opblock").filter(has=summary)
    operation.get_by_role("button", name="Try it out").click()
    offered = operation.get_by_role("combobox").filter(
        has=page.get_by_role("option", name="purchase_approval waits for approval_received")
    )
    expect(offered).to_be_visible()
    operation.get_by_placeholder("instance_id").fill(instance_id)
    expect(operation.get_by_placeholder("event_name")).to_have_value("approval_received")
    operation.get_by_role("button", name="Execute").click()
    answer = operation.get_by_role("row").filter(has_text="Response body")
    expect(answer.get_by_role("cell").first).to_have_text("202")


def test_start_every_workflow_from_swagger_ui_offline(
    page: Page, api: httpx.Client, watch: Watch
) -> None:
    page.goto("/docs")
    expect(page.get_by_role("heading", name=re.compile("Dapr workflow service"))).to_be_visible()
    authorize(page)
    # (A "/" in a role-name pattern must be escaped for Playwright's selector syntax.)
    summary = page.get_by_role("button", name=re.compile(r"^POST \/start-workflow"))
    summary.click()
    operation = page.locator(".opblock").filter(has=summary)
    operation.get_by_role("button", name="Try it out").click()
    examples = operation.get_by_role("combobox").filter(
        has=page.get_by_role("option", name="purchase_approval")
    )
    assert examples.get_by_role("option").all_inner_texts() == list(WORKFLOWS)

    started: dict[str, str] = {}
    for workflow in WORKFLOWS:
        examples.select_option(label=workflow)
        operation.get_by_role("button", name="Execute").click()
        answer = operation.get_by_role("row").filter(has_text="Response body")
        expect(answer.get_by_role("cell").first).to_have_text("202")
        body = json.loads(answer.locator("code").first.inner_text())
        assert body["workflow"] == workflow
        started[workflow] = body["instance_id"]
        operation.get_by_role("button", name="Clear").click()

    purchase = started["purchase_approval"]
    wait_for(api, purchase, {"RUNNING"})
    assert wait_for(api, purchase, {"RUNNING"})["custom_status"]["waiting_for"] == (
        "approval_received"
    )
    approve_from_swagger_ui(page, purchase)
    for workflow, iid in started.items():
        status = wait_for(api, iid, timeout=90)
        assert status["runtime_status"] == "COMPLETED", (workflow, status)
    approved = wait_for(api, purchase)["output"]
    assert (approved["approved_by"], approved["authorized_by"]) == ("Jane Doe", OWNER)
    monitor = wait_for(api, started["monitor"])
    assert monitor["output"]["healthy"] is True  # it checked this very service, on its real port
    assert watch.off_origin == []

    page.goto("/")  # the dashboard, with what these tests started
    expect(page.get_by_role("link", name=started["monitor"])).to_be_visible()
    page.screenshot(
        path=SHOTS / "dashboard.png", clip={"x": 0, "y": 0, "width": 1200, "height": 600}
    )
