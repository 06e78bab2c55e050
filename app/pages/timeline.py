"""An instance's history as bars on a time axis: a pure function of the history events.

Activities, timers and child workflows become bars from when they were scheduled to when they
finished (still open: to `now`); raised events, suspensions and resumptions become marks. The
SVG itself is drawn by a template from these numbers, so every label is escaped there.
"""

import math
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

# Bars drawn at most; a larger fan-out says how many more there were.
MAX_BARS = 60
# Which history event closes which bar, and how the bar ended.
_CLOSERS = {
    "taskCompleted": ("taskScheduledId", "completed"),
    "taskFailed": ("taskScheduledId", "failed"),
    "childWorkflowInstanceCompleted": ("taskScheduledId", "completed"),
    "childWorkflowInstanceFailed": ("taskScheduledId", "failed"),
    "timerFired": ("timerId", "fired"),
}
_OPENERS = {
    "taskScheduled": "activity",
    "childWorkflowInstanceCreated": "child",
    "timerCreated": "timer",
}
_MARKS = {"eventRaised": "event", "executionSuspended": "paused", "executionResumed": "resumed"}
_ENDS = {"executionCompleted", "executionTerminated", "continueAsNew"}


@dataclass
class Bar:
    kind: str  # workflow | activity | child | timer | wait | event | paused | resumed
    label: str
    event_id: int | None
    start: float  # seconds since the instance started
    end: float | None = None  # None: still open
    # running | completed | failed | fired | received | timed out | cancelled | instant
    outcome: str = "running"
    detail: str = ""


@dataclass
class Timeline:
    bars: list[Bar] = field(default_factory=list)
    span: float = 0.0  # seconds from the first event to the last (or to now, while running)
    hidden: int = 0  # bars beyond MAX_BARS
    ticks: list[float] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for bar in self.bars:
            counts[bar.kind] = counts.get(bar.kind, 0) + 1
        return counts


def _time(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if isinstance(value, str) and value:
        return datetime.fromisoformat(value)
    return None


def nice_ticks(span: float, count: int = 6) -> list[float]:
    """Round tick positions (1, 2 or 5 times a power of ten) covering 0..span."""
    if span <= 0:
        return [0.0]
    raw = span / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(f * magnitude for f in (1, 2, 5, 10) if f * magnitude >= raw)
    return [round(i * step, 6) for i in range(int(span / step + 1e-9) + 1)]


def duration(seconds: float) -> str:
    """A tick's label: 0.5s, 30s, 2m, 1.5h, 2d."""
    for unit, size in (("d", 86400.0), ("h", 3600.0), ("m", 60.0)):
        if seconds >= size:
            return f"{seconds / size:g}{unit}"
    return f"{seconds:g}s"


def build(events: list[dict[str, Any]], now: datetime | None = None) -> Timeline:
    """Bars for the history events (as GET /workflows/{id}/history gives them), in order."""
    stamped = [(e, _time(e.get("timestamp"))) for e in events]
    times = [t for _, t in stamped if t is not None]
    if not times:
        return Timeline()
    builder = _Builder(times[0])
    for event, moment in stamped:
        builder.add(event, builder.offset(moment))
    bars, workflow = builder.bars, builder.workflow
    finished = workflow is not None and workflow.end is not None
    if workflow is not None and workflow.end is not None:
        builder.close_all(workflow.end)  # what was still open ended with the instance
    end = builder.offset(now) if now is not None and not finished else 0.0
    span = max([end, *(b.end or b.start for b in bars)], default=0.0)
    timeline = Timeline(bars=bars[:MAX_BARS], span=span, hidden=max(0, len(bars) - MAX_BARS))
    timeline.ticks = nice_ticks(span)
    return timeline


class _Builder:
    def __init__(self, origin: datetime) -> None:
        self.origin = origin
        self.bars: list[Bar] = []
        self.workflow: Bar | None = None
        self.open: dict[int, Bar] = {}  # by the event_id that opened the bar
        self.waits: dict[str, Bar] = {}  # waits for an external event, by the event's name

    def offset(self, moment: datetime | None) -> float:
        return max(0.0, ((moment or self.origin) - self.origin).total_seconds())

    def add(self, event: dict[str, Any], at: float) -> None:
        kind, details = event.get("kind") or "", event.get("details") or {}
        event_id, name = event.get("event_id"), event.get("name")
        if kind == "executionStarted":
            self.workflow = Bar("workflow", name or "workflow", event_id, at)
            self.bars.append(self.workflow)
        elif kind in _OPENERS:
            self._open(Bar(_OPENERS[kind], name or kind, event_id, at), details)
        elif kind in _CLOSERS:
            id_field, outcome = _CLOSERS[kind]
            # taskScheduledId and timerId are the event_id of the event that opened the bar.
            bar = self.open.pop(int(details.get(id_field, -1)), None)
            if bar is not None:
                bar.end, bar.outcome = at, "timed out" if bar.kind == "wait" else outcome
                failure = details.get("failureDetails") or {}
                bar.detail = str(failure.get("errorMessage", bar.detail))
        elif kind in _MARKS:
            self.bars.append(Bar(_MARKS[kind], name or kind, event_id, at, at, "instant"))
            wait = self.waits.pop(name or "", None) if kind == "eventRaised" else None
            if wait is not None and wait.end is None:
                wait.end, wait.outcome = at, "received"
        elif kind in _ENDS and self.workflow is not None:
            status = details.get("workflowStatus") or details.get("orchestrationStatus") or ""
            status = str(status).removeprefix("ORCHESTRATION_STATUS_")
            self.workflow.end = at
            self.workflow.outcome = "failed" if status == "FAILED" else "completed"
            self.workflow.detail = status.lower() or kind

    def _open(self, bar: Bar, details: dict[str, Any]) -> None:
        if bar.kind == "timer" and "externalEvent" in details:
            # The runtime's timer behind wait_for_external_event: drawn as the wait itself.
            waited = str((details.get("externalEvent") or {}).get("name", "event"))
            bar.kind, bar.label = "wait", f"wait for {waited}"
            self.waits[waited] = bar
        elif bar.kind == "timer":
            # A retry's backoff is a timer too; say which it is.
            bar.label = "retry backoff" if "activityRetry" in details else "timer"
            bar.detail = f"fires at {details.get('fireAt', '?')}"
        elif bar.kind == "child":
            bar.detail = str(details.get("instanceId", ""))
        self.open[int(bar.event_id or 0)] = bar
        self.bars.append(bar)

    def close_all(self, at: float) -> None:
        for bar in self.bars:
            if bar.end is None:
                bar.end, bar.outcome = at, "cancelled"


# The picture's geometry, in SVG user units: a label column, then the time axis.
WIDTH, LABEL_WIDTH, ROW_HEIGHT, AXIS_HEIGHT, PAD = 960.0, 230.0, 20.0, 26.0, 12.0


@dataclass(frozen=True)
class Drawn:
    bar: Bar
    x: float
    width: float
    y: float


def draw(timeline: Timeline) -> list[Drawn]:
    """Where each bar goes: x from its start, width from its duration (open bars to the end)."""
    scale = (WIDTH - LABEL_WIDTH - PAD) / (timeline.span or 1.0)
    drawn = []
    for row, bar in enumerate(timeline.bars):
        end = timeline.span if bar.end is None else bar.end
        x = LABEL_WIDTH + bar.start * scale
        drawn.append(
            Drawn(bar, x, max(2.0, (end - bar.start) * scale), AXIS_HEIGHT + row * ROW_HEIGHT)
        )
    return drawn


def tick_x(timeline: Timeline, tick: float) -> float:
    return LABEL_WIDTH + tick * (WIDTH - LABEL_WIDTH - PAD) / (timeline.span or 1.0)


def height(timeline: Timeline) -> float:
    return AXIS_HEIGHT + len(timeline.bars) * ROW_HEIGHT + PAD
