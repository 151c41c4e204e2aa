"""the results page's report filter: date range and granularity, refused naming the field."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from app.domain.results.filters import MAX_CHART_POINTS, report_filter
from app.domain.results.periods import Period, period_origin
from app.lib.errors import InvalidInputError


def test_a_filter_and_its_links() -> None:
    f = report_filter("2026-11-02", "2026-11-08", "week")
    assert (f.start, f.end, f.granularity) == (date(2026, 11, 2), date(2026, 11, 8), "week")
    assert f.low == datetime(2026, 11, 2, tzinfo=UTC) and f.high == datetime(2026, 11, 9, tzinfo=UTC)
    assert f.query == "?start=2026-11-02&end=2026-11-08&granularity=week"
    assert f.csv_query == f.query and f.period == Period("week", 1)
    default = report_filter(None, "", None)
    assert default.is_default and default.query == "" and default.csv_query == "?granularity=day"
    assert default.period is None


@pytest.mark.parametrize(
    ("start", "end", "granularity", "field"),
    [
        ("yesterday", None, None, "start"),
        (None, "2026-13-01", None, "end"),
        ("2026-11-10", "2026-11-01", None, "end"),  # backwards
        ("2025-01-01", "2026-11-01", None, "end"),  # more than a year
        (None, None, "minute", "granularity"),
        (None, None, "DAY", "granularity"),
    ],
)
def test_bad_filters_name_the_field(start: str | None, end: str | None, granularity: str | None, field: str) -> None:
    with pytest.raises(InvalidInputError) as caught:
        report_filter(start, end, granularity)
    assert caught.value.field == field


def test_too_many_points_for_the_chosen_granularity() -> None:
    first = datetime(2026, 1, 1, tzinfo=UTC)
    report_filter(None, None, "hour").check_points(first, datetime(2026, 1, 31, 23, tzinfo=UTC))
    with pytest.raises(InvalidInputError) as caught:
        report_filter(None, None, "hour").check_points(first, datetime(2026, 3, 1, tzinfo=UTC))
    assert caught.value.field == "granularity" and str(MAX_CHART_POINTS) in caught.value.message
    report_filter(None, None, "day").check_points(first, datetime(2026, 12, 31, tzinfo=UTC))


def test_weeks_start_on_monday_midnight_utc() -> None:
    # 2026-11-26 is a thursday
    assert period_origin(datetime(2026, 11, 26, 15, tzinfo=UTC), Period("week", 1)) == datetime(
        2026, 11, 23, tzinfo=UTC
    )
    assert period_origin(datetime(2026, 11, 23, 0, tzinfo=UTC), Period("week", 1)) == datetime(2026, 11, 23, tzinfo=UTC)
    assert Period("week", 1).label(datetime(2026, 11, 23, tzinfo=UTC)) == "week of 2026-11-23"
