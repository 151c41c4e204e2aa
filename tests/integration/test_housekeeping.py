"""the worker's housekeeping on the real postgres: policy snapshots are pruned to the newest few per experiment."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from uuid import UUID

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

from app.db.models import PolicySnapshot
from app.settings import Settings
from app.worker.housekeeping import KEEP_SNAPSHOTS, housekeeping, prune_snapshots
from app.worker.settings import worker_settings
from tests.integration.conftest import Tenant


@pytest.fixture
async def sessions(settings: Settings) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_async_engine(settings.async_database_url)
    yield async_sessionmaker(engine, expire_on_commit=False)
    await engine.dispose()


async def add_snapshots(sessions: async_sessionmaker[AsyncSession], experiment_id: str, count: int) -> datetime:
    """`count` snapshots a minute apart, numbered by `events` from oldest (0) to newest; returns the newest's time."""
    newest = datetime.now(UTC).replace(microsecond=0)
    async with sessions() as session, session.begin():
        for i in range(count):
            session.add(
                PolicySnapshot(
                    experiment_id=UUID(experiment_id),
                    last_id=f"{i}-0",
                    events=i,
                    state="{}",
                    created_at=newest - timedelta(minutes=count - 1 - i),
                )
            )
    return newest


async def kept(sessions: async_sessionmaker[AsyncSession], experiment_id: str) -> list[int]:
    async with sessions() as session:
        rows = await session.scalars(
            select(PolicySnapshot.events)
            .where(PolicySnapshot.experiment_id == UUID(experiment_id))
            .order_by(PolicySnapshot.events)
        )
        return list(rows)


async def test_each_experiment_keeps_its_newest_snapshots(
    tenant: Tenant, other_tenant: Tenant, sessions: async_sessionmaker[AsyncSession]
) -> None:
    busy = (await tenant.experiment())["id"]
    young = (await tenant.experiment())["id"]
    elsewhere = (await other_tenant.experiment())["id"]
    await add_snapshots(sessions, busy, 30)
    await add_snapshots(sessions, young, 3)
    await add_snapshots(sessions, elsewhere, 8)

    await prune_snapshots(sessions, keep=5)

    assert await kept(sessions, busy) == [25, 26, 27, 28, 29]
    assert await kept(sessions, young) == [0, 1, 2]
    assert await kept(sessions, elsewhere) == [3, 4, 5, 6, 7]
    # a second pass finds nothing more to do
    assert await prune_snapshots(sessions, keep=5) == 0


async def test_the_worker_runs_housekeeping_on_a_schedule(
    tenant: Tenant, sessions: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    jobs = {job.name: job for job in worker_settings(settings).cron_jobs}
    assert "cron:housekeeping" in jobs and jobs["cron:housekeeping"].unique
    experiment = (await tenant.experiment())["id"]
    await add_snapshots(sessions, experiment, KEEP_SNAPSHOTS + 7)
    assert await housekeeping({"sessions": sessions}) >= 7
    assert await kept(sessions, experiment) == list(range(7, KEEP_SNAPSHOTS + 7))


async def test_keeping_none_is_refused(sessions: async_sessionmaker[AsyncSession]) -> None:
    with pytest.raises(ValueError, match="keep at least one"):
        await prune_snapshots(sessions, keep=0)
