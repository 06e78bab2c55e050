"""The dashboard's small charts: what this replica counted in each minute of the last hour
(app/metrics.py's LAST_HOUR), as bars of SVG drawn here (no script, no chart library)."""

from dataclasses import dataclass

from app import metrics

WIDTH, HEIGHT = 120, 24  # a bar of 2 units a minute; the busiest minute is full height


@dataclass(frozen=True)
class Chart:
    label: str  # what it counts, as a screen reader says it
    kind: str  # started, completed, failed, terminated, refused: its colour
    total: int
    bars: list[tuple[float, float, float, float]]  # x, y, width, height


def chart(label: str, kind: str, counts: list[int]) -> Chart:
    peak, step = max(counts, default=0) or 1, WIDTH / max(len(counts), 1)
    bars = [
        (round(minute * step, 2), round(HEIGHT - height, 2), round(step * 0.8, 2), round(height, 2))
        for minute, n in enumerate(counts)
        if n
        for height in [max(1.0, HEIGHT * n / peak)]
    ]
    return Chart(label, kind, sum(counts), bars)


@dataclass(frozen=True)
class LastHour:
    rows: list[tuple[str, list[Chart]]]  # per workflow: started, then each end
    refused: list[Chart]  # per reason


def last_hour(workflows: list[str], hour: metrics.LastHour = metrics.LAST_HOUR) -> LastHour:
    rows = [
        (
            workflow,
            [chart(f"{workflow} started", "started", hour.series("started", workflow))]
            + [
                chart(f"{workflow} {end.lower()}", end.lower(), hour.series("ended", workflow, end))
                for end in metrics.ENDED
            ],
        )
        for workflow in workflows
    ]
    refused = [
        chart(f"refused: {reason}", "refused", hour.series("refused", reason))
        for (reason,) in hour.keys("refused")
    ]
    return LastHour(rows, refused)
