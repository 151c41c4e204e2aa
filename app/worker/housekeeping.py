"""housekeeping jobs: what the worker keeps only for a while."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import structlog
from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.db.models import ArmStatsMinute

log = structlog.get_logger(__name__)
# the charts read minute rows only while an experiment is under six hours old (app.domain.results.periods);
# two days leave room for late conversions, which are counted in their exposure's minute
MINUTE_ROWS_KEPT = timedelta(days=2)


async def prune_minutes(sessions: async_sessionmaker[AsyncSession], now: datetime | None = None) -> int:
    cutoff = (now or datetime.now(UTC)) - MINUTE_ROWS_KEPT
    async with sessions() as session, session.begin():
        result = await session.execute(delete(ArmStatsMinute).where(ArmStatsMinute.minute < cutoff))
    removed = int(getattr(result, "rowcount", 0) or 0)
    if removed:
        log.info("minute statistics pruned", rows=removed)
    return removed


async def housekeeping(ctx: dict[str, Any]) -> int:
    return await prune_minutes(ctx["sessions"])
