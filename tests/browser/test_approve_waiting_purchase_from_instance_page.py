"""A person finds a purchase waiting for approval, sees its timeline and approves it."""

import re
import uuid

import httpx
from playwright.sync_api import Page, expect

from tests.browser.conftest import KEY, OWNER, SHOTS
from tests.integration.polling import wait_for

ORDER = {"order_id": "o-77", "product": "Laptop", "quantity": 2, "cost": 5000}


def test_approve_waiting_purchase_from_instance_page(page: Page, api: httpx.Client) -> None:
    iid = f"order-{uuid.uuid4().hex[:8]}"
    response = api.post("/workflows/purchase_approval", params={"instance_id": iid}, json=ORDER)
    assert response.status_code == 202, response.text
    wait_for(api, iid, {"RUNNING"})

    page.goto("/")
    page.get_by_label("Workflow").select_option("purchase_approval")
    page.get_by_role("button", name="Filter").click()
    row = page.get_by_role("row").filter(has=page.get_by_role("link", name=iid))
    expect(row).to_contain_text("waiting for approval_received")
    page.screenshot(path=SHOTS / "dashboard-filtered.png")
    row.get_by_role("link", name=iid).click()

    expect(page.get_by_role("heading", name=f"Instance {iid}")).to_be_visible()
    expect(page.get_by_role("img", name=f"Timeline of {iid}")).to_be_visible()
    expect(page.get_by_text("waiting for approval_received")).to_be_visible()

    page.get_by_label("API key").fill(KEY)
    page.get_by_role("button", name="Use key").click()
    page.get_by_label("Approver name").fill("Jane Doe")
    page.get_by_label("Comment").fill("Within budget")
    page.get_by_role("button", name="Approve").click()

    expect(page.locator("#runtime-status")).to_have_text("COMPLETED", timeout=30_000)
    page.wait_for_load_state("networkidle")  # the page stops following a finished instance
    output = page.get_by_role("region", name="Input, output, custom status and failure")
    expect(output).to_contain_text('"approved_by": "Jane Doe"')
    expect(output).to_contain_text(f'"authorized_by": "{OWNER}"')
    page.get_by_role("img", name=f"Timeline of {iid}").screenshot(
        path=SHOTS / "timeline-approval.png"
    )
    assert KEY not in page.url
    assert re.search(r"/instances/", page.url)
    assert wait_for(api, iid)["output"]["status"] == "approved"
