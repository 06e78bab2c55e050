"""A person reads the API reference in ReDoc, and moves through the dashboard by keyboard."""

from playwright.sync_api import Page, expect

from tests.browser.conftest import Watch


def test_read_the_api_reference_in_redoc_offline(page: Page, watch: Watch) -> None:
    page.goto("/redoc")
    expect(page.get_by_role("heading", name="Start Workflow").first).to_be_visible()
    expect(page.get_by_text("purchase_approval waits for approval_received").first).to_be_attached()
    assert watch.off_origin == []


def test_move_through_the_dashboard_with_the_keyboard(page: Page) -> None:
    page.goto("/")
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Dapr workflow service")).to_be_focused()
    page.get_by_label("runtime_status", exact=True).focus()
    page.keyboard.press("Tab")
    expect(page.get_by_label("Created after (UTC)")).to_be_focused()
    page.get_by_role("button", name="Filter").focus()
    page.keyboard.press("Enter")
    expect(page).to_have_url("/?workflow=&status=&created_after=&created_before=")
