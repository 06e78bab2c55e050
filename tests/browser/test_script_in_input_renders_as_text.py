"""An instance id or input holding <script> shows as text and runs nothing."""

import uuid

import httpx
from playwright.sync_api import Page, expect

from tests.browser.conftest import Watch
from tests.integration.polling import wait_for

PAYLOAD = "<script>window.pwned = true</script><img src=x onerror=window.pwned=true>"


def test_script_in_an_input_shows_as_text(page: Page, api: httpx.Client) -> None:
    iid = f"xss-{uuid.uuid4().hex[:8]}"
    task = {"task_id": PAYLOAD, "title": f"Hello {PAYLOAD}", "description": PAYLOAD}
    response = api.post("/workflows/task_chaining", params={"instance_id": iid}, json=task)
    assert response.status_code == 202, response.text
    wait_for(api, iid)

    page.goto(f"/instances/{iid}")
    region = page.get_by_role("region", name="Input, output, custom status and failure")
    expect(region).to_contain_text("<script>window.pwned = true</script>")
    page.goto("/")
    expect(page.get_by_role("link", name=iid)).to_be_visible()
    assert page.evaluate("window.pwned") is None


def test_script_in_an_instance_id_shows_as_text(page: Page, watch: Watch) -> None:
    watch.allow("status of 404")  # no such instance: the page says so, with a 404
    page.goto("/instances/<script>window.pwned=true<")
    expect(page.get_by_role("heading", name="Not found")).to_be_visible()
    expect(page.get_by_text("<script>window.pwned=true<")).to_be_visible()
    assert page.evaluate("window.pwned") is None
