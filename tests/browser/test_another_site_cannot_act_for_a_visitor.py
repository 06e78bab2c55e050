"""Another site acting through a visitor's browser: a cross-site form post, or a page whose name
was rebound to the service's address (DNS rebinding). Both refused."""

import uuid

import httpx
from playwright.sync_api import Browser, Route, expect

from tests.browser.conftest import REBOUND
from tests.integration.polling import wait_for

ORDER = {"order_id": "o-5", "product": "Chair", "quantity": 1, "cost": 7000}
# Served by the test itself (no such host is ever looked up): a classic cross-site form post,
# with a text/plain body shaped like JSON.
ATTACKER = "http://attacker.test/"


def test_cross_site_form_post_is_refused(
    browser: Browser, base_url: str, api: httpx.Client
) -> None:
    iid = f"csrf-{uuid.uuid4().hex[:8]}"
    api.post("/workflows/purchase_approval", params={"instance_id": iid}, json=ORDER)
    wait_for(api, iid, {"RUNNING"})
    target = f"{base_url}/workflows/{iid}/events/approval_received"
    evil = f"""<!doctype html><form method="post" action="{target}" enctype="text/plain">
      <input name='{{"approved": true, "approver": "evil", "x": "' value='"}}'>
      <button>Win a prize</button></form>"""

    def serve(route: Route) -> None:
        if route.request.url == ATTACKER:
            route.fulfill(status=200, content_type="text/html", body=evil)
        elif route.request.url.startswith(base_url):
            route.continue_()
        else:
            route.abort("blockedbyclient")

    context = browser.new_context()
    context.route("**/*", serve)
    page = context.new_page()
    try:
        page.goto(ATTACKER)
        with page.expect_response(target) as answer:
            page.get_by_role("button", name="Win a prize").click()
        response = answer.value
        assert response.status == 403  # refused as cross-site, before the key is even asked for
        assert response.request.headers.get("origin") == "http://attacker.test"
        expect(page.get_by_text("cross_site_request")).to_be_visible()
    finally:
        context.close()
    assert wait_for(api, iid, {"RUNNING"})["runtime_status"] == "RUNNING"
    api.post(f"/workflows/{iid}/terminate")


def test_page_on_a_rebound_name_cannot_read_or_act(browser: Browser, base_url: str) -> None:
    port = httpx.URL(base_url).port
    rebound = f"http://{REBOUND}:{port}"
    context = browser.new_context()
    page = context.new_page()
    try:
        answer = page.goto(f"{rebound}/")
        assert answer is not None and answer.status == 403
        expect(page.get_by_text("host_not_allowed")).to_be_visible()
        # The rebound page is same-origin to the browser; its script still names its own host.
        posted = page.evaluate(
            "fetch('/start-workflow', {method: 'POST', headers: {'Content-Type': "
            "'application/json'}, body: '{}'}).then(r => r.status)"
        )
        assert posted == 403
    finally:
        context.close()
