"""`make bench-day`'s figures: what a kind of call sums up to, and its table."""

from tools.bench.day import Calls, table


def test_calls_sum_up_answers_errors_and_refusals_apart() -> None:
    calls = Calls("decisions")
    calls.latencies, calls.errors, calls.refused, calls.seconds = [10.0] * 19 + [90.0], 1, 3, 2.0
    calls.statuses = {503: 1}
    assert calls.summary() == {
        "calls": 21,
        "per_second": 10.0,
        "p50_ms": 10,
        "p95_ms": 10,
        "errors": 1,
        "error_statuses": {503: 1},
        "refused_429": 3,
    }


def test_the_table_has_a_column_per_store() -> None:
    rate = Calls("x").summary() | {"per_second": 5.0}
    day = {
        "store": "sqlite",
        "waiting": 10_000,
        "monitors": 1_000,
        "seeding": {"approvals": rate, "monitors": rate},
        "calm": {"new_orders": rate, "seconds": 60},
        "burst": {"decisions": rate, "new_orders": rate, "steady_rate_asked": 10.0},
        "at_rest": {
            "rss_mb": {"app-0": 90.0, "daprd-0": 180.0, "scheduler": 190.0},
            "store": 50.0,
            "store_kb_per_instance": 4.55,
            "scheduler_mb": 12.0,
            "status_ms": 4.0,
            "list_page_50_ms": 60.0,
            "dashboard_ms": 70.0,
            "census_s": 4.2,
        },
        "restart": {"to_ready_s": 8.0, "to_first_decision_applied_s": 9.5},
    }
    text = table([day, {**day, "store": "redis"}])
    assert "| | sqlite (10,000 + 1,000) | redis (10,000 + 1,000) |" in text
    assert "| RSS MB at rest: app, daprd, scheduler, store | 90.0, 180.0, 190.0, in daprd |" in text
    assert "8.0, 9.5" in text
    assert "| census of every unfinished instance s | 4.2 |" in text
    assert "| new orders /s, no burst (asked) | 5.0 (0/0, 0, 0) (10) |" in text
