"""The unit tests' fixtures: the stand-in sidecar and the app on it (tests/unit/fakes.py)."""

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from tests.unit.fakes import FakeClient, client_for, fake_composites

__all__ = ["fake_composites"]


@pytest.fixture
def fake() -> FakeClient:
    return FakeClient()


@pytest.fixture
def http(fake: FakeClient) -> Iterator[TestClient]:
    with client_for(fake, max_body_bytes=4096) as client:
        yield client
