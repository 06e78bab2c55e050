"""monitor through the HTTP API on the real sidecar, against a switchable target."""

from typing import Any

import httpx
import pytest

from tests.integration.polling import start, wait_for, wait_until
from tests.integration.stacks import API_SERVER_STAND_IN, EVERY_STORE
from tests.integration.target import serve_target

pytestmark = pytest.mark.stores(*EVERY_STORE)


def test_monitor_alerts_once_per_transition_and_continues_as_new(api: httpx.Client) -> None:
    with serve_target() as target:
        iid = start(
            api,
            "monitor",
            {
                "job_id": "job",
                "url": target.url,
                "healthy_interval_seconds": 0.5,
                "unhealthy_interval_seconds": 0.5,
                "max_checks": 6,
            },
        )

        def custom() -> dict[str, int]:
            return dict(api.get(f"/status/{iid}").json()["custom_status"] or {})

        wait_until(lambda: custom().get("check_count", 0) >= 2, what="two healthy checks")
        target.status = 503
        out = wait_for(api, iid, timeout=60)["output"]
    assert out["check_count"] == 6 and out["healthy"] is False
    assert out["alerts_sent"] == 1  # several unhealthy checks, one transition


def test_monitor_runs_until_terminated(api: httpx.Client) -> None:
    with serve_target() as target:
        iid = start(
            api,
            "monitor",
            {"job_id": "forever", "url": target.url, "healthy_interval_seconds": 0.5},
        )
        wait_until(lambda: target.hits >= 3, what="three checks")

        def current() -> dict[str, Any]:
            # A new generation (continue-as-new) shows no custom status until its check is done.
            body: dict[str, Any] = api.get(f"/status/{iid}").json()
            return body if body["custom_status"] else {}

        status = wait_until(current, what="a generation's custom status")
        assert status["runtime_status"] == "RUNNING"
        assert status["custom_status"]["job_id"] == "forever"
        assert status["custom_status"]["next_check_at"]
        assert api.post(f"/workflows/{iid}/terminate", json={"reason": "done"}).status_code == 202
        assert wait_for(api, iid)["runtime_status"] == "TERMINATED"


# -- aimed inside: every address a refused check would have reached is on this machine (TEST_ENV)


def test_literal_metadata_url_is_422_and_nothing_starts(api: httpx.Client) -> None:
    job = {"job_id": "imds", "url": "http://169.254.169.254/latest/meta-data/", "max_checks": 1}
    response = api.post("/workflows/monitor", json=job, params={"instance_id": "imds-probe"})
    assert response.status_code == 422, response.text
    assert "metadata" in response.json()["message"]
    assert api.get("/status/imds-probe").status_code == 404


def test_name_resolving_to_the_api_server_is_refused_at_check_time(api: httpx.Client) -> None:
    with serve_target(API_SERVER_STAND_IN) as server:
        port = httpx.URL(server.url).port
        names = {"api-server.test": "API server", "nowhere.test": "unspecified"}
        for name, reason in names.items():
            job = {"job_id": name, "url": f"http://{name}:{port}/health", "max_checks": 1}
            status = wait_for(api, start(api, "monitor", job))
            check = status["custom_status"]["last_check"]
            assert check["refused"] and not check["healthy"], check
            assert reason in check["detail"]
            assert status["output"]["alerts_sent"] == 1
        assert server.hits == 0
