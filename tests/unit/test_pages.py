"""The dashboard's pages as served (no browser): content, escaping, security headers, CSRF."""

from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from pydantic import BaseModel, Field

from app.api.catalogue import CATALOG
from tests.unit.fakes import APPROVAL_HISTORY, T0, PagesFake, client_for, event

SCRIPT = "<script>alert(1)</script>"


@pytest.fixture
def fake() -> PagesFake:
    fake = PagesFake()
    fake.add("old-1", "task_chaining", "COMPLETED", created_at=T0)
    fake.add(
        "new-2",
        "fan_out_fan_in",
        "RUNNING",
        created_at=T0 + timedelta(hours=1),
        custom_status={"done": 2, "total": 5},
    )
    fake.add(
        "order-3",
        "purchase_approval",
        "RUNNING",
        created_at=T0 + timedelta(hours=2),
        input={"product": SCRIPT},
        custom_status={"waiting_for": "approval_received", "deadline": "2026-01-02T00:00:00"},
    )
    fake.histories["order-3"] = APPROVAL_HISTORY[:5]
    return fake


@pytest.fixture
def http(fake: PagesFake) -> Iterator[TestClient]:
    with client_for(fake) as client:
        yield client


def test_list_is_newest_first_with_counts_per_status(http: TestClient) -> None:
    page = http.get("/").text
    assert page.index("order-3") < page.index("new-2") < page.index("old-1")
    assert "RUNNING <strong>2</strong>" in page and "COMPLETED <strong>1</strong>" in page
    assert 'aria-label="Items done"' in page  # the fan-out's progress


def test_list_filters_by_status_and_workflow(http: TestClient) -> None:
    page = http.get("/", params={"status": "COMPLETED"}).text
    assert "old-1" in page and "new-2" not in page
    page = http.get("/", params={"workflow": "purchase_approval"}).text
    assert "order-3" in page and "old-1" not in page


def test_instance_page_reads_without_javascript(http: TestClient) -> None:
    page = http.get("/instances/order-3").text
    assert "waiting for <code>approval_received</code>" in page
    assert "<svg" in page and "request_approval" in page
    assert "Actions need JavaScript" in page  # said in <noscript>, forms hidden until JS runs


def test_script_in_an_input_or_an_id_renders_as_text(http: TestClient) -> None:
    page = http.get("/instances/order-3").text
    assert SCRIPT not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    missing = http.get("/instances/%3Cscript%3Ealert(1)")
    assert missing.status_code == 404
    assert "<script>alert" not in missing.text and "&lt;script&gt;alert(1)" in missing.text


def test_every_page_forbids_inline_script_and_framing(http: TestClient) -> None:
    for path in ("/", "/instances/order-3", "/start", "/docs", "/status/order-3"):
        policy = http.get(path).headers["content-security-policy"]
        assert "script-src 'self';" in policy and "unsafe-inline" not in policy.split("style")[0]
        assert "frame-ancestors 'none'" in policy
    assert "<script>" not in http.get("/").text.replace('<script src="/static/', "")


def test_cross_site_state_changes_are_refused(http: TestClient, fake: PagesFake) -> None:
    for headers in (
        {"Origin": "http://evil.example"},
        {"Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "same-site", "Origin": "http://testserver"},
    ):
        response = http.post("/workflows/order-3/terminate", headers=headers)
        assert (response.status_code, response.json()["error"]) == (403, "cross_site_request")
    assert fake.events == []
    same = {"Host": "localhost:8000", "Origin": "http://localhost:8000"}
    assert http.post("/workflows/order-3/terminate", headers=same).status_code == 202


def test_a_browser_naming_another_host_is_refused_reads_and_writes(
    http: TestClient, fake: PagesFake
) -> None:
    # A page of rebind.test whose name now resolves to 127.0.0.1: same-origin to the browser.
    rebound = {"Host": "rebind.test:8000", "Origin": "http://rebind.test:8000"}
    for method, path in (
        ("GET", "/"),
        ("GET", "/status/order-3"),
        ("POST", "/workflows/order-3/terminate"),
    ):
        response = http.request(method, path, headers={**rebound, "Sec-Fetch-Site": "same-origin"})
        assert (response.status_code, response.json()["error"]) == (403, "host_not_allowed")
        assert "APP_ALLOWED_HOSTS" in response.json()["message"]
    assert fake.events == []
    for host in ("localhost:8000", "127.0.0.1:1234", "[::1]:8000", "LOCALHOST"):
        assert http.get("/", headers={"Host": host, "Sec-Fetch-Site": "none"}).status_code == 200
    # A page that is not a secure context sends neither header on a same-origin read.
    firefox = {
        "User-Agent": "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
    }
    assert http.get("/", headers={"Host": "rebind.test", **firefox}).status_code == 403
    for agent in ("curl/7.88.1", "kube-probe/1.31", "Go-http-client/1.1", "python-httpx/0.28"):
        not_a_browser = {"Host": "rebind.test", "User-Agent": agent}
        assert http.get("/", headers=not_a_browser).status_code == 200


def test_allowed_hosts_names_more_hosts_or_any(fake: PagesFake) -> None:
    browser = {"Host": "svc.example:80", "Sec-Fetch-Site": "none"}
    with client_for(fake, allowed_hosts="svc.example") as http:
        assert http.get("/", headers=browser).status_code == 200
        assert http.get("/", headers={**browser, "Host": "localhost"}).status_code == 403
    with client_for(fake, allowed_hosts="*") as http:
        assert http.get("/", headers=browser).status_code == 200


def test_reads_never_change_state(http: TestClient, fake: PagesFake) -> None:
    before = dict(fake.states)
    for path in ("/", "/instances/order-3", "/instances/order-3/live", "/start"):
        assert http.get(path).status_code == 200
    assert fake.states == before and fake.events == [] and fake.started == []


def test_start_form_is_prefilled_with_the_example_for_this_address(http: TestClient) -> None:
    page = http.get("/start", params={"workflow": "monitor"}).text
    assert "http://testserver/healthz" in page.replace("&#34;", '"')
    assert 'name="workflow" value="monitor"' in page


def test_key_box_is_shown_only_when_keys_are_set(fake: PagesFake) -> None:
    with client_for(fake) as open_service:
        assert 'id="api-key"' not in open_service.get("/").text
    with client_for(fake, api_keys="alice:k1") as keyed:
        page = keyed.get("/instances/order-3")
        assert page.status_code == 200 and 'id="api-key"' in page.text  # reads stay open
        assert "k1" not in page.text and "set-cookie" not in page.headers


def test_a_page_says_in_words_when_the_sidecar_is_down(http: TestClient, fake: PagesFake) -> None:
    fake.down = True
    response = http.get("/")
    assert response.status_code == 503
    assert response.headers["content-type"].startswith("text/html")
    assert "The Dapr sidecar is not reachable" in response.text


def test_a_bad_filter_is_a_page_not_json(http: TestClient) -> None:
    response = http.get("/", params={"created_after": "yesterday"})
    assert response.status_code == 422 and "Not a date and time" in response.text


def test_waiting_purchase_gets_its_declared_event_form(http: TestClient) -> None:
    page = http.get("/instances/order-3").text
    assert 'data-url="/workflows/order-3/events/approval_received"' in page
    assert "Decide on this purchase" in page and ">Approver name</label>" in page
    assert 'name="approved" value="true" data-type="bool">Approve</button>' in page
    assert 'name="approved" value="false" data-type="bool">Reject</button>' in page
    assert 'name="authorized_by"' not in page  # the service sets it, never the form


def test_a_new_workflow_with_an_event_gets_a_form_without_template_changes(
    fake: PagesFake, monkeypatch: pytest.MonkeyPatch
) -> None:
    class Nudge(BaseModel):
        """Nudge the job."""

        times: int
        note: str | None = Field(None, max_length=100)

    spec = replace(CATALOG["task_chaining"], name="nudged", events={"nudge": Nudge})
    monkeypatch.setitem(CATALOG, "nudged", spec)
    fake.add("n-1", "nudged", "RUNNING", custom_status={"step": 1})
    with client_for(fake) as http:
        page = http.get("/instances/n-1").text
    assert 'data-url="/workflows/n-1/events/nudge"' in page and "Nudge the job" in page
    assert 'name="times" data-type="int" required' in page
    assert 'name="note" maxlength="100" data-optional' in page
    assert ">Send</button>" in page


@pytest.mark.parametrize(
    ("failure", "why"),
    [
        (
            {
                "type": "WorkflowStateError",
                "message": "Don't know how to handle event of type 'executionResumed'",
            },
            "a resume reached it while it was running",
        ),
        (
            {"type": "NonDeterminismError", "message": "A previous execution called ..."},
            "could not replay its history",
        ),
    ],
)
def test_an_instance_failed_by_the_runtime_shows_how_to_bring_it_back(
    http: TestClient, fake: PagesFake, failure: dict[str, str], why: str
) -> None:
    fake.add("lost-4", "purchase_approval", "FAILED", failure=failure)
    fake.histories["lost-4"] = APPROVAL_HISTORY[:5]
    status = http.get("/status/lost-4").json()
    assert why in status["recovery"] and "/workflows/lost-4/rerun" in status["recovery"]
    page = http.get("/instances/lost-4").text
    assert "To bring it back:" in page and why in page
    assert '<option value="1" selected>' in page  # the last activity call before the failure


def test_an_instance_that_failed_by_itself_offers_no_recovery(
    http: TestClient, fake: PagesFake
) -> None:
    fake.add(
        "bad-5",
        "task_chaining",
        "FAILED",
        failure={"type": "ChainStepFailed", "message": "enrich failed"},
    )
    assert http.get("/status/bad-5").json()["recovery"] is None
    assert "To bring it back:" not in http.get("/instances/bad-5").text


def test_status_and_the_instance_page_show_the_version_and_the_patches_taken(
    fake: PagesFake, http: TestClient
) -> None:
    fake.add("mon-4", "monitor", "RUNNING", created_at=T0)
    fake.histories["mon-4"] = [
        event(-1, "workflowStarted", 0, version={"name": "v2"}),
        event(0, "executionStarted", 0, "monitor"),
        event(-1, "workflowStarted", 1, version={"name": "v2", "patches": ["budget-check"]}),
    ]
    status = http.get("/status/mon-4").json()
    assert (status["version"], status["patches"]) == ("v2", ["budget-check"])
    page = http.get("/instances/mon-4").text
    assert '<code id="version">v2</code>' in page and "<code>budget-check</code>" in page
    status = http.get("/status/order-3").json()  # no version, no patch taken
    assert (status["version"], status["patches"]) == (None, [])
    assert '<dd id="patches">none</dd>' in http.get("/instances/order-3").text
