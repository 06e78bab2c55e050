"""What Swagger UI and ReDoc show: served locally, named examples, real error codes, this port."""

import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.unit.fakes import PagesFake, client_for


@pytest.fixture
def http() -> Iterator[TestClient]:
    with client_for(PagesFake()) as client:
        yield client


@pytest.fixture
def spec(http: TestClient) -> dict[str, Any]:
    return http.get("/openapi.json").json()  # type: ignore[no-any-return]


def test_docs_pages_load_only_the_services_own_scripts(http: TestClient) -> None:
    for path in ("/docs", "/redoc"):
        page = http.get(path).text
        scripts = re.findall(r"<script([^>]*)>(.*?)</script>", page, re.S)
        assert scripts and all(body.strip() == "" for _, body in scripts), "no inline script"
        assert all(re.search(r'src="/static/', attrs) for attrs, _ in scripts)
        assert "http" not in page.replace('href="/openapi.json"', "")
    asset = http.get("/static/vendor/swagger-ui-bundle.js")
    assert asset.status_code == 200 and "SwaggerUIBundle" in asset.text


def test_start_examples_are_named_by_workflow(spec: dict[str, Any]) -> None:
    body = spec["paths"]["/start-workflow"]["post"]["requestBody"]["content"]["application/json"]
    examples = body["examples"]
    assert {e["summary"] for e in examples.values()} == set(examples) >= {"purchase_approval"}


def test_event_name_offers_the_events_each_workflow_waits_for(spec: dict[str, Any]) -> None:
    operation = spec["paths"]["/workflows/{instance_id}/events/{event_name}"]["post"]
    event_name = next(p for p in operation["parameters"] if p["name"] == "event_name")
    values = {e["value"] for e in event_name["examples"].values()}
    assert values == {"approval_received"}
    assert "purchase_approval" in next(iter(event_name["examples"]))


def _keyed_spec() -> dict[str, Any]:
    with client_for(PagesFake(), api_keys="alice:s3cret") as http:
        return http.get("/openapi.json").json()  # type: ignore[no-any-return]


def test_the_spec_asks_for_a_key_only_when_the_service_has_keys(spec: dict[str, Any]) -> None:
    keyed = _keyed_spec()
    terminate = "/workflows/{instance_id}/terminate"
    assert keyed["paths"][terminate]["post"]["security"] == [{"APIKeyHeader": []}]
    assert "401" in keyed["paths"][terminate]["post"]["responses"]
    assert "securitySchemes" not in spec.get("components", {})
    for path in spec["paths"].values():
        for operation in path.values():
            assert "security" not in operation and "401" not in operation["responses"]


def test_error_examples_carry_each_status_codes_real_errors() -> None:
    responses = _keyed_spec()["paths"]["/workflows/{instance_id}/terminate"]["post"]["responses"]

    def codes(status: str) -> set[str]:
        examples = responses[status]["content"]["application/json"]["examples"]
        return {e["value"]["error"] for e in examples.values()}

    assert codes("401") == {"unauthorized"}
    assert codes("403") == {"cross_site_request", "host_not_allowed"}
    assert codes("404") == {"not_found"}
    assert "already_finished" in codes("409")
    assert codes("503") == {"sidecar_unavailable", "not_ready"}
    assert codes("504") == {"outcome_unknown"}


def test_monitor_example_checks_the_port_the_service_answers_on(http: TestClient) -> None:
    spec = http.get("/openapi.json", headers={"Host": "127.0.0.1:18123"}).json()
    body = spec["paths"]["/workflows/monitor"]["post"]["requestBody"]["content"]
    (example,) = body["application/json"]["examples"].values()
    assert example["value"]["url"] == "http://127.0.0.1:18123/healthz"
    assert "localhost:8000" not in str(spec)


def test_malformed_json_error_gives_line_and_column(http: TestClient) -> None:
    body = b'{\n  "workflow": "task_chaining",\n  "input": {"a": 1,}\n}'
    response = http.post(
        "/start-workflow", content=body, headers={"content-type": "application/json"}
    )
    assert response.status_code == 422
    error = response.json()
    assert error["error"] == "invalid_request"
    assert "line 3, column 20" in error["message"]
    assert error["details"][0]["line"] == 3 and error["details"][0]["column"] == 20


def test_a_body_that_is_not_utf8_is_the_documented_422(http: TestClient) -> None:
    response = http.post(
        "/start-workflow",
        content=b'{"workflow": "\xff"}',
        headers={"content-type": "application/json"},
    )
    assert (response.status_code, response.json()["error"]) == (422, "invalid_request")
    assert "not UTF-8" in response.json()["message"]


@pytest.mark.parametrize("when", ["0.5", "2026", "1e9"])
def test_a_number_is_not_taken_for_a_time(http: TestClient, when: str) -> None:
    response = http.get("/workflows", params={"created_before": when})
    assert (response.status_code, response.json()["error"]) == (422, "invalid_request")


def test_every_change_documents_the_body_limit(spec: dict[str, Any]) -> None:
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            if method in ("post", "delete"):
                assert "413" in operation["responses"], f"{method} {path}"


def test_a_405_lists_every_method_the_path_takes(http: TestClient) -> None:
    response = http.request("OPTIONS", "/workflows/some-instance")
    assert response.status_code == 405
    assert response.headers["Allow"] == "DELETE, POST"


def test_the_approval_threshold_is_the_services_not_in_the_schema(spec: dict[str, Any]) -> None:
    order = spec["components"]["schemas"]["PurchaseOrder"]
    assert "approval_threshold" not in order["properties"]
