"""Settings that would leave the service open refuse to load."""

import pytest

from app.config import Settings


@pytest.mark.parametrize("keys", ["key-without-owner", "a:k,b:k", "a:"])
def test_malformed_api_keys_refuse_to_start_rather_than_open_up(keys: str) -> None:
    with pytest.raises(ValueError, match="APP_API_KEYS"):
        Settings(api_keys=keys)
