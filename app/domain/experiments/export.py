"""the statistics series as csv for a chosen date range and granularity (hour, day or iso week, in utc)."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models import ArmStatsHourly, Experiment
from app.lib.errors import InvalidInputError

Granularity = Literal["hour", "day", "week"]
GRANULARITIES: tuple[str, ...] = ("hour", "day", "week")
# a year of hours for twenty arms is 175,200 lines (~10 mb): the most one request may ask for
MAX_DAYS = 366
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def check_range(start: date | None, end: date | None, granularity: str) -> tuple[datetime | None, datetime | None]:
    """the half-open utc instants [start 00:00, end + 1 day 00:00); raises naming the field at fault."""
    if granularity not in GRANULARITIES:
        raise InvalidInputError("granularity must be hour, day or week", field="granularity")
    if start is not None and end is not None:
        if end < start:
            raise InvalidInputError("the end date is before the start date", field="end")
        if (end - start).days >= MAX_DAYS:
            raise InvalidInputError(f"choose at most {MAX_DAYS} days", field="end")
    low = datetime.combine(start, time(), tzinfo=UTC) if start else None
    high = datetime.combine(end + timedelta(days=1), time(), tzinfo=UTC) if end else None
    return low, high


async def series_csv(
    session: AsyncSession, experiment: Experiment, start: date | None, end: date | None, granularity: str
) -> str:
    low, high = check_range(start, end, granularity)
    t = ArmStatsHourly
    period = func.date_trunc(granularity, t.hour).label("period")
    query = (
        select(
            period, t.arm_index, func.sum(t.exposures), func.sum(t.feedbacks), func.sum(t.reward_sum),
            func.sum(t.reward_sum_sq),
        )
        .where(t.experiment_id == experiment.id)
        .group_by(period, t.arm_index)
        .order_by(period, t.arm_index)
    )  # fmt: skip
    if low is not None:
        query = query.where(t.hour >= low)
    if high is not None:
        query = query.where(t.hour < high)
    names = {a.index: a.name for a in experiment.pool.arms}
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([granularity, "arm_index", "arm", "exposures", "feedbacks", "reward_sum", "reward_sum_sq"])
    for at, arm, exposures, feedbacks, reward_sum, reward_sum_sq in await session.execute(query):
        name = names.get(arm, "")
        name = "'" + name if name.startswith(FORMULA_START) else name
        stamp = at.astimezone(UTC).strftime("%Y-%m-%dT%H:00:00Z" if granularity == "hour" else "%Y-%m-%d")
        writer.writerow([stamp, arm, name, int(exposures), int(feedbacks), float(reward_sum), float(reward_sum_sq)])
    return out.getvalue()
