"""the worker's periodic tidying: what would otherwise grow without bound in postgres.

policy snapshots are written about once a minute per training experiment (training._maybe_snapshot) and only
the newest is ever read (to resume when redis lost the params), so each experiment keeps its latest few.
"""

from __future__ import annotations

from typing import Any

import structlog
from sqlalchemy import CursorResult, delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.db.models import PolicySnapshot

log = structlog.get_logger(__name__)

# a day of hourly restore points is far more than a resume needs; older ones are history nobody reads
KEEP_SNAPSHOTS = 24


async def prune_snapshots(sessions: async_sessionmaker[AsyncSession], keep: int = KEEP_SNAPSHOTS) -> int:
    """deletes every experiment's policy snapshots but its `keep` newest; returns how many went."""
    if keep < 1:
        raise ValueError("keep at least one snapshot per experiment: it is what a resume starts from")
    rank = (
        func.row_number()
        .over(
            partition_by=PolicySnapshot.experiment_id,
            order_by=(PolicySnapshot.created_at.desc(), PolicySnapshot.id.desc()),
        )
        .label("rank")
    )
    ranked = select(PolicySnapshot.id, rank).subquery()
    stale = select(ranked.c.id).where(ranked.c.rank > keep)
    async with sessions() as session, session.begin():
        result = await session.execute(
            delete(PolicySnapshot).where(PolicySnapshot.id.in_(stale)).execution_options(synchronize_session=False)
        )
    # a delete's result is a cursor result, which counts the rows it removed
    return result.rowcount if isinstance(result, CursorResult) else 0


async def housekeeping(ctx: dict[str, Any]) -> int:
    """the arq cron job: one worker at a time (unique) every few minutes."""
    pruned = await prune_snapshots(ctx["sessions"])
    if pruned:
        log.info("pruned policy snapshots", pruned=pruned, kept_per_experiment=KEEP_SNAPSHOTS)
    return pruned
