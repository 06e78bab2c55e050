"""The dashboard's last hour: a count a minute, kept sixty minutes, drawn as bars."""

from fastapi.testclient import TestClient

from app.metrics import LastHour
from app.pages.charts import HEIGHT, chart, last_hour
from tests.unit.fakes import CHAIN, FakeClient, client_for


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000 * 60.0

    def __call__(self) -> float:
        return self.now


def test_counts_are_kept_a_minute_apart_for_an_hour_then_dropped() -> None:
    clock = Clock()
    hour = LastHour(clock=clock)
    hour.add("started", "hybrid")
    clock.now += 60
    hour.add("started", "hybrid")
    hour.add("started", "hybrid")
    series = hour.series("started", "hybrid")
    assert len(series) == 60 and series[-2:] == [1, 2] and sum(series) == 3
    clock.now += 59 * 60
    assert hour.series("started", "hybrid")[0] == 2  # the oldest minute still shown
    clock.now += 60
    hour.add("refused", "worker_busy")
    assert sum(hour.series("started", "hybrid")) == 0
    assert hour.keys("refused") == [("worker_busy",)]
    clock.now += 60 * 60
    assert hour.keys("refused") == []  # a reason not seen for an hour is no longer drawn


def test_the_busiest_minute_is_full_height_and_a_quiet_one_has_no_bar() -> None:
    drawn = chart("x", "started", [0, 4, 1] + [0] * 57)
    assert drawn.total == 5
    heights = [bar[3] for bar in drawn.bars]
    assert heights == [HEIGHT, HEIGHT / 4]
    assert chart("x", "started", [0] * 60).bars == []


def test_the_list_page_draws_each_workflows_last_hour(fake: FakeClient) -> None:
    clock = Clock()
    hour = LastHour(clock=clock)
    hour.add("started", "task_chaining")
    hour.add("ended", "task_chaining", "FAILED")
    drawn = last_hour(["task_chaining", "hybrid"], hour)
    [started, completed, failed, terminated] = drawn.rows[0][1]
    assert (started.total, completed.total, failed.total, terminated.total) == (1, 0, 1, 0)
    assert failed.kind == "failed" and drawn.refused == []
    with client_for(fake, max_starts_per_second=0.5, start_burst=1) as http:
        assert http.post("/start-workflow", json=CHAIN).status_code == 202
        assert http.post("/start-workflow", json=CHAIN).status_code == 429
        page = http.get("/").text
    assert 'aria-label="task_chaining started: ' in page
    assert 'data-reason="refused: rate_limited"' in page


def test_the_charts_need_no_script_and_no_inline_style(http: TestClient) -> None:
    """The page's Content-Security-Policy allows neither: colours come from dashboard.css."""
    section = http.get("/").text.split('id="last-hour"')[1].split("</section>")[0]
    assert "<script" not in section and "style=" not in section
