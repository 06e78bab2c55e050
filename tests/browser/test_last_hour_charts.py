"""A person opens the dashboard after a burst of fan-outs and sees it in the last hour's charts:
the starts and the completions counted this minute, drawn without a script."""

import uuid

import httpx
from playwright.sync_api import Page, expect

from tests.browser.conftest import SHOTS
from tests.integration.polling import wait_for

BURST = 4


def test_a_burst_of_fan_outs_shows_in_the_last_hours_charts(page: Page, api: httpx.Client) -> None:
    ids = [f"burst-{uuid.uuid4().hex[:8]}" for _ in range(BURST)]
    for iid in ids:
        body = {"workflow": "fan_out_fan_in", "instance_id": iid,
                "input": {"task_ids": [f"{iid}-{n}" for n in range(5)]}}
        assert api.post("/start-workflow", json=body).status_code == 202
    for iid in ids:
        assert wait_for(api, iid)["runtime_status"] == "COMPLETED"

    page.goto("/")
    row = page.locator('tr[data-workflow="fan_out_fan_in"]')
    started = row.get_by_role("img", name="fan_out_fan_in started")
    completed = row.get_by_role("img", name="fan_out_fan_in completed")
    expect(started).to_be_visible()
    # Other tests on this stack start fan-outs too: at least the burst, in this minute or the last.
    for chart in (started, completed):
        label = chart.get_attribute("aria-label") or ""
        assert int(label.split(": ")[1].split(" ")[0]) >= BURST, label
        tallest = max(float(h) for h in chart.locator("rect").evaluate_all(
            "bars => bars.map(b => b.getAttribute('height'))"))
        assert tallest > 0
    page.locator("section.last-hour").screenshot(path=SHOTS / "last-hour.png")
