"""Schemathesis against the app's OpenAPI spec, with the real sidecar behind it.

No input it generates may cause a 500, a hang or a response that breaks the spec. Every operation
gets its own examples, driven by Hypothesis directly (the pytest plugin needs an older pytest).
"""

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from tests.integration.stacks import running_stack
from tools.stack import Stack

EXAMPLES_PER_OPERATION = 30
# /start-workflow's input is any object in the schema and is checked against the chosen workflow's
# model, so schema-valid bodies are rightly refused there; /workflows/{name} carries the exact
# models and is fuzzed with every check.
# The stack runs without API keys, and its spec says so (no operation asks for one), so
# ignored_auth has nothing to find here; the keys are tested in tests/unit/test_access_control.py.
EXCLUDED = [positive_data_acceptance]
# Generated monitor URLs name hosts anywhere: only this machine's may be checked (others get 422
# before anything is resolved), so fuzzing never sends a packet off it.
LOOPBACK_MONITORS = {"APP_MONITOR_ALLOWED_HOSTS": "localhost,127.0.0.1,::1"}


@pytest.fixture(scope="module")
def fuzz_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """A stack of its own: what the fuzzer starts must not load the other tests' stack."""
    with running_stack(tmp_path_factory.mktemp("fuzz"), app_env=LOOPBACK_MONITORS) as running:
        yield running


def test_no_generated_input_breaks_the_api(fuzz_stack: Stack) -> None:
    base = fuzz_stack.replicas[0].url
    schema = schemathesis.openapi.from_url(f"{base}/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]  # type: ignore[union-attr]
    assert len(operations) >= 15
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def check(case: Any) -> None:
            if case.query and "wait" in case.query:
                # A long poll may rightly take 30 s on an instance the fuzzer started; its own
                # tests cover it, here one second keeps the run short.
                case.query["wait"] = min(float(case.query["wait"]), 1.0)
            response = case.call(base_url=base, timeout=15)
            assert response.status_code < 500 or response.status_code == 503, (
                f"{case.method} {case.formatted_path} -> {response.status_code}: {response.text}"
            )
            case.validate_response(response, excluded_checks=EXCLUDED)

        check()
