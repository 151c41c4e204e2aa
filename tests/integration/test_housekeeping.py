"""the worker's housekeeping on the real postgres: policy snapshots are pruned to the newest few per experiment."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from uuid import UUID

import msgspec
import pytest
from litestar import Litestar
from redis.asyncio import Redis
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

from app.db.models import PolicySnapshot
from app.settings import Settings
from app.worker.housekeeping import KEEP_SNAPSHOTS, housekeeping, prune_snapshots
from app.worker.settings import worker_settings
from tests.integration.conftest import Tenant
from tests.integration.test_tag_api import make_shop


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
    tenant: Tenant, app: Litestar, redis: Redis, sessions: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    jobs = {job.name: job for job in worker_settings(settings).cron_jobs}
    assert "cron:housekeeping" in jobs and jobs["cron:housekeeping"].unique
    experiment = (await tenant.experiment())["id"]
    await add_snapshots(sessions, experiment, KEEP_SNAPSHOTS + 7)
    ctx = {"levers_redis": redis, "redis_keys": app.state.redis_keys, "sessions": sessions}
    assert await housekeeping(ctx) >= 7
    assert await kept(sessions, experiment) == list(range(7, KEEP_SNAPSHOTS + 7))


async def test_keeping_none_is_refused(sessions: async_sessionmaker[AsyncSession]) -> None:
    with pytest.raises(ValueError, match="keep at least one"):
        await prune_snapshots(sessions, keep=0)


async def test_sightings_noted_in_redis_reach_postgres_and_never_go_back(
    tenant: Tenant, app: Litestar, redis: Redis, sessions: async_sessionmaker[AsyncSession]
) -> None:
    keys = app.state.redis_keys
    shop = await make_shop(tenant)
    created = (await tenant.post("/auth/api-keys", {"name": "ci"}, 201)).json()
    assert (await tenant.client.get("/api/v1/pools", headers={"Authorization": f"Bearer {created['key']}"})).is_success
    before = time.time()
    await shop.decide({"v": "v1", "x": ["hero"], "u": "https://shop.example/checkout"})
    for _ in range(100):  # the tag's note is a fire-and-forget write: wait for it to land
        if await redis.hexists(keys.site_seen, shop.key):
            break
        await asyncio.sleep(0.05)

    ctx = {"levers_redis": redis, "redis_keys": keys, "sessions": sessions}
    await housekeeping(ctx)
    site_row = text("SELECT last_seen_url, last_seen_at FROM sites WHERE public_key = :key")
    key_row = text("SELECT last_used_at FROM api_keys WHERE id = :id")
    async with sessions() as session:
        url, seen_at = (await session.execute(site_row, {"key": shop.key})).one()
        used_at = await session.scalar(key_row, {"id": created["id"]})
    assert url == "https://shop.example/checkout" and seen_at.timestamp() >= before - 1
    assert used_at is not None and used_at.timestamp() >= before - 60

    # an older note (a redis restored from an old dump) does not move the rows back
    stale = msgspec.json.encode({"url": "https://shop.example/old", "at": before - 86400})
    await redis.hset(keys.site_seen, shop.key, stale)
    await redis.hset(keys.api_key_uses, created["id"], repr(before - 86400))
    await housekeeping(ctx)
    async with sessions() as session:
        assert (await session.execute(site_row, {"key": shop.key})).one() == (url, seen_at)
        assert await session.scalar(key_row, {"id": created["id"]}) == used_at
