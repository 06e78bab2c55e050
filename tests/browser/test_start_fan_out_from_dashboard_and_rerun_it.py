"""A person starts a fan-out from the dashboard, watches its progress and timeline, reruns it."""

import json
import uuid

import httpx
from playwright.sync_api import Page, expect

from tests.browser.conftest import KEY, SHOTS
from tests.integration.polling import wait_for

BATCH = {
    "task_ids": [f"item-{n:02d}" for n in range(11)] + ["fail-11"],
    "work_seconds": 0.6,
    "max_parallel": 4,
}


def test_start_fan_out_from_dashboard_watch_it_and_rerun_it(page: Page, api: httpx.Client) -> None:
    iid = f"fan-{uuid.uuid4().hex[:8]}"
    page.goto("/start")
    page.get_by_label("API key").fill(KEY)
    page.get_by_role("button", name="Use key").click()
    page.get_by_label("Workflow").select_option("fan_out_fan_in")  # reloads with its example
    expect(page.get_by_label("Input (JSON)")).to_contain_text("task_ids")
    page.get_by_label("Input (JSON)").fill(json.dumps(BATCH, indent=2))
    page.get_by_label("Instance id (optional)").fill(iid)
    page.get_by_role("button", name="Start fan_out_fan_in").click()

    expect(page.get_by_role("heading", name=f"Instance {iid}")).to_be_visible()
    expect(page.get_by_role("progressbar", name="Items done")).to_be_visible()
    expect(page.locator("#runtime-status")).to_have_text("COMPLETED", timeout=60_000)
    page.wait_for_load_state("networkidle")  # the page stops following a finished instance
    expect(page.get_by_text("12 / 12 items")).to_be_visible()
    picture = page.get_by_role("img", name=f"Timeline of {iid}")
    expect(picture).to_contain_text("analyze_item")
    picture.screenshot(path=SHOTS / "timeline.png")

    page.get_by_label("From event").select_option(index=2)
    rerun_id = f"{iid}-again"
    page.get_by_label("New instance id (optional)").fill(rerun_id)
    page.get_by_role("button", name="Rerun").click()
    expect(page.get_by_role("heading", name=f"Instance {rerun_id}")).to_be_visible()
    expect(page.locator("#runtime-status")).to_have_text("COMPLETED", timeout=60_000)
    again = wait_for(api, rerun_id)
    assert again["output"]["processed_count"] == 12
    assert again["output"]["failure_ids"] == ["fail-11"]
