"""`make bench` judges each goal on the median of its rounds' ratios, with the worst p95."""

from tools.bench.measure import Result
from tools.bench.report import ratio_table, ratios


def result(name: str, seconds: float, p95_ms: float = 500.0, failures: int = 0) -> Result:
    return Result(name, 300, 30, seconds, failures, [p95_ms] * 10)


def round_of(direct: float, long_poll: float, p95_ms: float = 500.0) -> list[Result]:
    """One round of the long-poll goal's two scenarios, from their run times."""
    return [result("direct client", direct), result("HTTP long poll", long_poll, p95_ms)]


def test_a_goal_is_met_by_the_median_of_its_rounds_not_by_one_round() -> None:
    rows = ratios([round_of(3.0, 4.0), round_of(3.0, 3.5), round_of(3.0, 3.0)])
    (row,) = rows
    assert row["ratios"] == [0.75, 0.857, 1.0]  # each round's own pair
    assert row["ratio"] == 0.857 and row["met"]
    assert "0.75, 0.86, 1.00" in ratio_table(rows)


def test_the_worst_rounds_p95_counts_against_its_cap() -> None:
    (row,) = ratios([round_of(3.0, 3.0), round_of(3.0, 3.0, p95_ms=1200.0)])
    assert row["ratio"] == 1.0 and row["p95_ms"] == 1200 and not row["met"]


def test_a_goal_whose_scenarios_did_not_run_is_left_out() -> None:
    assert ratios([[result("direct client", 3.0)]]) == []
