"""how long one point of the over-time charts lasts: minutes in an experiment's first hours, then hours, then days.

pure (no i/o): ``choose_period`` picks the finest readable period that keeps the charts within ``MAX_POINTS``
points, ``period_origin`` where the first period starts (aligned, so 5-minute points fall on :00, :05...).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

Unit = Literal["minute", "hour", "day", "week"]

MAX_POINTS = 100
UNIT_SECONDS: dict[Unit, int] = {"minute": 60, "hour": 3600, "day": 86400, "week": 7 * 86400}
# the unix epoch fell on a thursday: weeks start on the monday three days later, as iso weeks (and the csv) do
WEEK_OFFSET = 4 * 86400
# readable steps per unit; hour steps divide a day, so hourly points fall on the same clock times every day
STEPS: dict[Unit, tuple[int, ...]] = {
    "minute": (1, 2, 5, 10, 15, 30),
    "hour": (1, 2, 3, 4, 6, 12),
    "day": (1, 2, 7, 14, 30, 91, 365),
    "week": (1,),
}
# the longest span each unit is used for: minutes for the first hours, hours for the first two weeks
UNIT_UP_TO: dict[Unit, float] = {"minute": 6 * 3600, "hour": 14 * 86400, "day": math.inf, "week": math.inf}
LABELS: dict[Unit, tuple[str, str]] = {
    # (the table's label, the chart axis's shorter one)
    "minute": ("%Y-%m-%d %H:%M", "%H:%M"),
    "hour": ("%Y-%m-%d %H:00", "%b %d %H:00"),
    "day": ("%Y-%m-%d", "%b %d"),
    "week": ("week of %Y-%m-%d", "%b %d"),
}


@dataclass(frozen=True)
class Period:
    unit: Unit
    size: int

    @property
    def seconds(self) -> int:
        return self.size * UNIT_SECONDS[self.unit]

    def label(self, start: datetime) -> str:
        return start.strftime(LABELS[self.unit][0])

    def axis_label(self, start: datetime) -> str:
        return start.strftime(LABELS[self.unit][1])

    def describe(self) -> str:
        return f"{self.size} {self.unit}" + ("s" if self.size != 1 else "")


def choose_period(span_seconds: float, finest: Unit = "minute", max_points: int = MAX_POINTS) -> Period:
    """the period of a chart covering ``span_seconds``; ``finest`` is the finest unit the data holds."""
    span = max(1.0, float(span_seconds))
    units: list[Unit] = ["minute", "hour", "day"]
    for unit in units[units.index(finest) :]:
        if span > UNIT_UP_TO[unit]:
            continue
        for size in STEPS[unit]:
            if math.ceil(span / (size * UNIT_SECONDS[unit])) <= max_points:
                return Period(unit, size)
    return Period("day", math.ceil(span / 86400 / max_points))


def period_origin(first: datetime, period: Period) -> datetime:
    """the start of the period holding ``first``: whole days count from midnight utc, weeks from monday, the rest
    from the epoch."""
    ts = first.timestamp()
    if period.unit == "week":
        return datetime.fromtimestamp(ts - (ts - WEEK_OFFSET) % period.seconds, tz=UTC)
    step = UNIT_SECONDS["day"] if period.unit == "day" else period.seconds
    return datetime.fromtimestamp(ts - ts % step, tz=UTC)


def period_count(origin: datetime, last: datetime, period: Period) -> int:
    """how many periods from ``origin`` reach the one holding ``last``."""
    return int((last - origin).total_seconds() // period.seconds) + 1
