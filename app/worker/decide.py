"""the decision cron job: every minute, each running experiment with guardrails or automatic decisions is
reviewed (app.domain.guardrails); what changed is committed, then published to the hot path."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import structlog
from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.db.models import Experiment, ExperimentStatus
from app.domain.guardrails.services import DecisionEngine
from app.runtime.publish import Publisher

log = structlog.get_logger(__name__)


async def reviewed_experiments(session: AsyncSession) -> list[UUID]:
    rows = await session.scalars(
        select(Experiment.id).where(
            Experiment.status == ExperimentStatus.RUNNING,
            or_(Experiment.auto_ship, Experiment.auto_drop, func.jsonb_array_length(Experiment.guardrails) > 0),
        )
    )
    return list(rows)


async def review_all(sessions: async_sessionmaker[AsyncSession], publisher: Publisher) -> int:
    """reviews every experiment that asks for it, each in its own transaction; returns the decisions taken."""
    async with sessions() as session:
        ids = await reviewed_experiments(session)
    taken = 0
    for experiment_id in ids:
        async with sessions() as session:
            async with session.begin():
                # locked, so a person's edit in the same moment waits rather than being overwritten
                experiment = await session.get(Experiment, experiment_id, with_for_update=True)
                if experiment is None:
                    continue
                entries = await DecisionEngine(session).review(experiment)
            if entries:
                await publisher.experiment(experiment)
                for entry in entries:
                    log.info(
                        "automatic decision",
                        experiment_id=str(experiment_id),
                        action=entry.action,
                        arm=entry.arm_index,
                        reason=entry.reason,
                    )
            taken += len(entries)
    return taken


async def decide(ctx: dict[str, Any]) -> int:
    return await review_all(ctx["sessions"], ctx["publisher"])
