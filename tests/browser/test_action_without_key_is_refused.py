"""With API keys set, a person without a key can read everything but change nothing."""

import uuid

import httpx
from playwright.sync_api import Page, expect

from tests.browser.conftest import Watch
from tests.integration.polling import wait_for

ORDER = {"order_id": "o-1", "product": "Desk", "quantity": 1, "cost": 9000}


def test_terminate_without_a_key_is_refused_and_changes_nothing(
    page: Page, api: httpx.Client, watch: Watch
) -> None:
    watch.allow("status of 401")  # the browser logs the refused request; it is the point here
    iid = f"nokey-{uuid.uuid4().hex[:8]}"
    api.post("/workflows/purchase_approval", params={"instance_id": iid}, json=ORDER)
    wait_for(api, iid, {"RUNNING"})

    page.goto(f"/instances/{iid}")
    expect(page.get_by_label("API key")).to_be_visible()
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Terminate").click()

    expect(page.get_by_role("alert")).to_contain_text("A valid X-API-Key header is required")
    expect(page.get_by_label("API key")).to_be_focused()
    assert wait_for(api, iid, {"RUNNING"})["runtime_status"] == "RUNNING"
    api.post(f"/workflows/{iid}/terminate")


def test_a_wrong_key_is_refused_too(page: Page, api: httpx.Client, watch: Watch) -> None:
    watch.allow("status of 401")
    iid = f"badkey-{uuid.uuid4().hex[:8]}"
    api.post("/workflows/purchase_approval", params={"instance_id": iid}, json=ORDER)
    wait_for(api, iid, {"RUNNING"})

    page.goto(f"/instances/{iid}")
    page.get_by_label("API key").fill("not-a-key")
    page.get_by_role("button", name="Use key").click()
    page.get_by_label("Approver name").fill("Mallory")
    page.get_by_role("button", name="Approve").click()

    expect(page.get_by_role("alert")).to_contain_text("X-API-Key")
    assert wait_for(api, iid, {"RUNNING"})["runtime_status"] == "RUNNING"
    api.post(f"/workflows/{iid}/terminate")
