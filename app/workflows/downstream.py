"""A stand-in for a downstream system that keeps failing, for items whose id says so.

Items whose id starts with ``fail-`` make the failure paths visible from Swagger UI, and the
integration tests cover them.
"""

FAILING_PREFIX = "fail-"


class DownstreamError(RuntimeError):
    """A simulated downstream failure; retried, then reported."""


def fail_if_simulated(item_id: str, step: str) -> None:
    if item_id.startswith(FAILING_PREFIX):
        raise DownstreamError(f"{step} failed for {item_id!r}: downstream service unavailable")
