"""chart periods: minutes for a young experiment, then hours, then days; always within the point budget."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest

from app.domain.results.charts import marker_radii
from app.domain.results.periods import (
    MAX_POINTS,
    STEPS,
    UNIT_SECONDS,
    Period,
    choose_period,
    period_count,
    period_origin,
)

HOUR = 3600
DAY = 86400


@pytest.mark.parametrize(
    ("span", "expected"),
    [
        (1, Period("minute", 1)),
        (45 * 60, Period("minute", 1)),
        (2 * HOUR, Period("minute", 2)),
        (6 * HOUR, Period("minute", 5)),
        (6 * HOUR + 1, Period("hour", 1)),
        (99 * HOUR, Period("hour", 1)),
        (101 * HOUR, Period("hour", 2)),
        (14 * DAY, Period("hour", 4)),
        (14 * DAY + 1, Period("day", 1)),
        (90 * DAY, Period("day", 1)),
        (101 * DAY, Period("day", 2)),
        (400 * 365 * DAY, Period("day", math.ceil(400 * 365 / MAX_POINTS))),
    ],
)
def test_the_period_follows_the_experiments_age(span: float, expected: Period) -> None:
    assert choose_period(span) == expected


@pytest.mark.parametrize("span", [60, 359 * 60, 7 * HOUR, 3 * DAY, 13 * DAY, 30 * DAY, 200 * DAY, 3000 * DAY])
def test_the_period_is_the_finest_step_within_the_budget(span: float) -> None:
    period = choose_period(span)
    assert math.ceil(span / period.seconds) <= MAX_POINTS
    finer = [s for s in STEPS[period.unit] if s < period.size]
    if finer:
        assert math.ceil(span / (finer[-1] * UNIT_SECONDS[period.unit])) > MAX_POINTS


def test_without_minute_rows_the_finest_period_is_an_hour() -> None:
    assert choose_period(20 * 60, finest="hour") == Period("hour", 1)
    assert choose_period(20 * DAY, finest="hour") == Period("day", 1)


def test_periods_start_on_round_times_and_count_to_the_last_row() -> None:
    first = datetime(2026, 8, 1, 10, 7, tzinfo=UTC)
    assert period_origin(first, Period("minute", 5)) == datetime(2026, 8, 1, 10, 5, tzinfo=UTC)
    assert period_origin(first, Period("hour", 6)) == datetime(2026, 8, 1, 6, tzinfo=UTC)
    assert period_origin(first, Period("day", 7)) == datetime(2026, 8, 1, tzinfo=UTC)
    origin = period_origin(first, Period("minute", 5))
    assert period_count(origin, first + timedelta(minutes=13), Period("minute", 5)) == 4  # 10:05 .. 10:20
    assert Period("minute", 5).axis_label(origin) == "10:05" and Period("day", 1).label(origin) == "2026-08-01"


@pytest.mark.parametrize("arms", [2, 10])
def test_a_one_point_series_shows_every_arms_marker(arms: int) -> None:
    assert all(marker_radii(1, arm) == [4] for arm in range(arms))
    long = [marker_radii(100, arm) for arm in range(arms)]
    assert all(r[-1] > 0 and 5 <= sum(x > 0 for x in r) <= 30 for r in long)  # a few markers, the last always
