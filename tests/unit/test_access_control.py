"""API keys: who may change what, and whose name an approval records."""

from tests.unit.fakes import CHAIN, FakeClient, client_for


def test_keys_protect_mutations_but_not_reads_health_or_docs(fake: FakeClient) -> None:
    with client_for(fake, api_keys="alice:s3cret") as http:
        assert http.post("/start-workflow", json=CHAIN).status_code == 401
        assert (
            http.post("/start-workflow", json=CHAIN, headers={"X-API-Key": "wrong"}).status_code
            == 401
        )
        assert fake.started == []
        assert (
            http.post("/start-workflow", json=CHAIN, headers={"X-API-Key": "s3cret"}).status_code
            == 202
        )
        for path in ("/healthz", "/readyz", "/metrics", "/docs", "/openapi.json"):
            assert http.get(path).status_code == 200


def test_approval_records_the_key_owner_not_the_payload(fake: FakeClient) -> None:
    fake.put("po", "purchase_approval", "RUNNING")
    # The workflow SDK takes an event whatever the case of its name: so does the stamp.
    with client_for(fake, api_keys="alice:s3cret") as http:
        for name in ("approval_received", "APPROVAL_Received"):
            response = http.post(
                f"/workflows/po/events/{name}",
                json={"approved": True, "approver": "A", "authorized_by": "mallory"},
                headers={"X-API-Key": "s3cret"},
            )
            assert response.status_code == 202
    assert [event[2]["authorized_by"] for event in fake.events] == ["alice", "alice"]
