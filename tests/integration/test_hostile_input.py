"""Hostile input on the real stack: oversized, malformed and odd requests get 4xx, never 500."""

import httpx

from tests.integration.polling import status
from tools.stack import Stack


def test_oversized_malformed_and_odd_requests_are_refused_with_4xx(
    fresh: tuple[Stack, httpx.Client],
) -> None:
    _, api = fresh
    huge = api.post(
        "/start-workflow",
        content=b"[" + b"1," * 600_000 + b"1]",
        headers={"content-type": "application/json"},
    )
    assert huge.status_code == 413
    too_many = api.post(
        "/workflows/fan_out_fan_in", json={"task_ids": [str(i) for i in range(5001)]}
    )
    assert too_many.status_code == 422
    assert (
        api.post(
            "/start-workflow", content=b'{"workflow":', headers={"content-type": "application/json"}
        ).status_code
        == 422
    )
    for odd in ("..%2F..%2Fetc", "x" * 300, "%E2%98%83", "a%20b"):
        assert api.get(f"/status/{odd}").status_code in (404, 422), odd
    assert status(api, "never-started") == {}
    assert api.get("/workflows", params={"page_size": 10}).status_code == 200
