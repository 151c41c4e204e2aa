"""the durable event log on the real stores: what the worker appends, exactly once, and its monthly partitions."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID

import asyncpg
import msgspec
import pytest
from litestar import Litestar
from redis.asyncio import Redis
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

from app.db.models.event_log import event_log
from app.lib.tokens import SelectionTokens
from app.runtime.events import EventWriter
from app.runtime.keys import RedisKeys
from app.runtime.records import Event, ExperimentConfig
from app.settings import Settings
from app.worker.counting import count
from app.worker.drain import Drainer
from app.worker.event_log import EventLog, attached, month_of, next_month, partition_name
from app.worker.housekeeping import housekeeping
from app.worker.streams import Entry, ensure_group, read_batch
from app.worker.training import load_configs, process
from tests.integration.conftest import Tenant, drain


@pytest.fixture
async def sessions(settings: Settings) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_async_engine(settings.async_database_url)
    yield async_sessionmaker(engine, expire_on_commit=False)
    await engine.dispose()


async def logged(sessions: async_sessionmaker[AsyncSession], experiment_id: str) -> list[Any]:
    async with sessions() as session:
        query = (
            select(event_log)
            .where(event_log.c.experiment_id == UUID(experiment_id))
            .order_by(event_log.c.ts, event_log.c.kind.desc())
        )
        return list(await session.execute(query))


async def batch_of_its_own(
    redis: Redis, keys: RedisKeys, eid: str, name: str, entries: list[Any]
) -> tuple[str, list[Entry], dict[str, ExperimentConfig]]:
    """these stream entries on a stream of their own (its checkpoint is the test's alone), read back as the
    worker reads a batch, with their experiment's config."""
    stream = f"{keys.stream_for(eid)}-{name}"
    for fields in entries:
        await redis.xadd(stream, fields)
    await ensure_group(redis, stream, keys.consumer_group)
    batch = await read_batch(redis, stream, keys.consumer_group, "c", 1000, pending=False)
    return stream, batch, await load_configs(redis, keys, [eid])


async def test_exposures_and_rewards_are_logged_with_propensity_context_and_attribution(
    tenant: Tenant, drainer: Drainer, app: Litestar, sessions: async_sessionmaker[AsyncSession]
) -> None:
    experiment = await tenant.experiment(arms=3, protocol="lin_ts", context_dim=2)
    tokens: SelectionTokens = app.state.decisions.tokens
    served = []
    for i in range(12):
        vector = [1.0, i / 10]
        body = {"experiment_id": experiment["id"], "context": {"vector": vector}}
        token = (await tenant.post("/api/v1/select", body, 200)).json()["selection_token"]
        served.append((tokens.verify(token), vector, token))
    for _, _, token in served[:5]:
        await tenant.post("/api/v1/feedback", {"selection_token": token, "reward": 2.5}, 202)
    await drain(drainer)

    rows = await logged(sessions, experiment["id"])
    exposures = {r.nonce: r for r in rows if r.kind == "x"}
    rewards = {r.nonce: r for r in rows if r.kind == "f"}
    assert len(exposures) == 12 and len(rewards) == 5 and len(rows) == 17
    for claims, vector, _ in served:
        row = exposures[claims.n]
        assert (row.arm_index, row.propensity, row.context, row.reward) == (claims.a, claims.p, vector, 0.0)
        assert 0 < row.propensity <= 1
        assert row.exposed_at == datetime.fromtimestamp(claims.ts, UTC) <= row.ts
    for claims, _, _ in served[:5]:
        reward = rewards[claims.n]
        # a reward carries its exposure's nonce and time: that is its attribution
        assert (reward.arm_index, reward.reward, reward.exposed_at) == (claims.a, 2.5, exposures[claims.n].exposed_at)
        assert reward.ts >= reward.exposed_at


async def test_a_redelivered_batch_is_logged_once(
    tenant: Tenant, drainer: Drainer, app: Litestar, redis: Redis, sessions: async_sessionmaker[AsyncSession]
) -> None:
    experiment = await tenant.experiment(reward_mode="conversion")
    eid = experiment["id"]
    keys = app.state.redis_keys
    writer = EventWriter(redis, keys)
    now = time.time()
    for i in range(40):
        await writer.exposure(
            Event(kind="x", experiment=eid, arm=i % 2, reward=0.0, trials=1, ts=now, nonce=f"re-{i}", issued=now)
        )
    stream = keys.stream_for(eid)
    await ensure_group(redis, stream, keys.consumer_group)
    entries = await read_batch(redis, stream, keys.consumer_group, "shard-test", 1000, pending=False)
    assert len(entries) >= 40
    # the worker committed the batch, then died before acknowledging it: the entries stay pending
    await process(redis, keys, sessions, stream, entries, EventLog())
    assert len(await logged(sessions, eid)) == 40
    # the same batch delivered again, whole and in part, by hand and through the drain's pending re-read
    await process(redis, keys, sessions, stream, entries, EventLog())
    await process(redis, keys, sessions, stream, entries[10:25], EventLog())
    await redis.xgroup_setid(stream, keys.consumer_group, "0")
    await drain(drainer)
    rows = await logged(sessions, eid)
    assert len(rows) == 40 and len({r.nonce for r in rows}) == 40
    stats = (await tenant.get(f"/api/v1/experiments/{eid}/stats", 200)).json()
    assert sum(a["exposures"] for a in stats["arms"]) == 40


async def test_a_batch_that_fails_midway_leaves_no_rows_and_lands_whole_on_retry(
    tenant: Tenant, app: Litestar, redis: Redis, sessions: async_sessionmaker[AsyncSession]
) -> None:
    experiment = await tenant.experiment(reward_mode="conversion")
    eid = experiment["id"]
    keys = app.state.redis_keys
    writer = EventWriter(redis, keys)
    now = time.time()
    for i in range(25):
        await writer.exposure(Event(kind="x", experiment=eid, arm=0, reward=0.0, trials=1, ts=now, nonce=f"mid-{i}"))
    raw = await redis.xrange(keys.stream_for(eid))
    stream, entries, configs = await batch_of_its_own(redis, keys, eid, "midway", [f for _, f in raw[-25:]])

    async def dies(session: AsyncSession, fresh: list[Any]) -> None:
        raise ConnectionResetError("postgres went away mid-batch")

    with pytest.raises(ConnectionResetError):
        await count(sessions, stream, entries, configs, dies, EventLog())
    assert await logged(sessions, eid) == []
    assert await count(sessions, stream, entries, configs, None, EventLog()) == 25
    assert len(await logged(sessions, eid)) == 25
    assert await count(sessions, stream, entries, configs, None, EventLog()) == 0
    assert len(await logged(sessions, eid)) == 25


async def test_a_batch_copied_in_several_statements_lands_whole_or_not_at_all(
    tenant: Tenant, app: Litestar, redis: Redis, sessions: async_sessionmaker[AsyncSession]
) -> None:
    # the log copies a batch a few rows per statement (COPY_CHUNK); here 7, so 25 events take four copies
    experiment = await tenant.experiment(reward_mode="conversion")
    eid = experiment["id"]
    keys = app.state.redis_keys
    now = time.time()
    events = [
        Event(kind="x", experiment=eid, arm=i % 2, reward=0.0, trials=1, ts=now + i, nonce=f"ch-{i}") for i in range(25)
    ]
    stream, entries, configs = await batch_of_its_own(
        redis, keys, eid, "chunks", [{"d": msgspec.json.encode(e)} for e in events]
    )

    # postgres refuses the fourth copy (a nonce longer than the column): the three before it go with it
    refused = EventLog(copy_chunk=7)
    good_rows = refused.rows

    def with_a_bad_last_row(events: Any, now: datetime | None = None) -> list[tuple[Any, ...]]:
        rows = good_rows(events, now)
        return [*rows[:-1], (*rows[-1][:-1], "n" * 65)]

    refused.rows = with_a_bad_last_row  # type: ignore[method-assign]
    with pytest.raises(Exception, match="too long"):
        await count(sessions, stream, entries, configs, None, refused)
    assert await logged(sessions, eid) == []

    assert await count(sessions, stream, entries, configs, None, EventLog(copy_chunk=7)) == 25
    rows = await logged(sessions, eid)
    assert [r.nonce for r in rows] == [f"ch-{i}" for i in range(25)]
    # delivered again: past the checkpoint, not copied a second time
    assert await count(sessions, stream, entries, configs, None, EventLog(copy_chunk=7)) == 0
    assert len(await logged(sessions, eid)) == 25


async def test_deleting_an_experiment_deletes_its_log(
    tenant: Tenant, drainer: Drainer, sessions: async_sessionmaker[AsyncSession]
) -> None:
    experiment = await tenant.experiment()
    for _ in range(3):
        await tenant.post("/api/v1/select", {"experiment_id": experiment["id"]}, 200)
    await drain(drainer)
    assert len(await logged(sessions, experiment["id"])) == 3
    response = await tenant.client.delete(f"/api/v1/experiments/{experiment['id']}", headers=tenant.headers)
    assert response.status_code == 204
    assert await logged(sessions, experiment["id"]) == []


async def test_partitions_are_made_ahead_and_dropped_past_the_retention(
    tenant: Tenant, app: Litestar, redis: Redis, sessions: async_sessionmaker[AsyncSession]
) -> None:
    experiment = await tenant.experiment(reward_mode="conversion")
    eid = experiment["id"]
    keys = app.state.redis_keys
    writer = EventWriter(redis, keys)
    now = datetime.now(UTC)
    old = (now - timedelta(days=70)).timestamp()  # its month ends at least 39 days ago
    ancient = (now - timedelta(days=500)).timestamp()  # past the default retention: not logged at all
    for issued in (old, ancient, now.timestamp()):
        event = Event(kind="x", experiment=eid, arm=0, reward=0.0, trials=1, ts=now.timestamp(), issued=issued)
        await writer.exposure(event)
    stream = keys.stream_for(eid) + "-retention"
    for _, fields in (await redis.xrange(keys.stream_for(eid)))[-3:]:
        await redis.xadd(stream, fields)
    await ensure_group(redis, stream, keys.consumer_group)
    entries = await read_batch(redis, stream, keys.consumer_group, "c", 1000, pending=False)
    configs = await load_configs(redis, keys, [eid])
    await count(sessions, stream, entries, configs, None, EventLog())
    rows = await logged(sessions, eid)
    old_month = month_of(datetime.fromtimestamp(old, UTC))
    assert sorted(month_of(r.exposed_at) for r in rows) == sorted([old_month, month_of(now)])

    dropped = await EventLog(retention_days=30).housekeep(sessions)
    assert partition_name(old_month) in dropped
    async with sessions() as session:
        months = await attached(session)
        names = set(await session.scalars(text("select tablename from pg_tables where tablename like 'event_log_p%'")))
    assert old_month not in months and partition_name(old_month) not in names
    assert {month_of(now), next_month(month_of(now))} <= months
    assert [month_of(r.exposed_at) for r in await logged(sessions, eid)] == [month_of(now)]
    # a second pass has nothing left to drop; a worker whose cache still lists the month recreates it on need
    assert await EventLog(retention_days=30).housekeep(sessions) == []


def test_months_are_named_and_bounded_alike() -> None:
    assert next_month(date(2026, 12, 1)) == date(2027, 1, 1)
    assert next_month(date(2026, 1, 1)) == date(2026, 2, 1)
    assert partition_name(date(2027, 3, 1)) == "event_log_p202703"


async def test_a_partition_dropped_behind_a_workers_back_is_made_again_on_retry(
    tenant: Tenant, app: Litestar, redis: Redis, sessions: async_sessionmaker[AsyncSession]
) -> None:
    experiment = await tenant.experiment(reward_mode="conversion")
    eid = experiment["id"]
    keys = app.state.redis_keys
    old = (datetime.now(UTC) - timedelta(days=75)).timestamp()
    stream = keys.stream_for(eid) + "-dropped"
    event = Event(kind="x", experiment=eid, arm=1, reward=0.0, trials=1, ts=old, issued=old, nonce="dropped-1")
    await redis.xadd(stream, {"d": msgspec.json.encode(event)})
    await ensure_group(redis, stream, keys.consumer_group)
    entries = await read_batch(redis, stream, keys.consumer_group, "c", 10, pending=False)
    configs = await load_configs(redis, keys, [eid])
    worker = EventLog()
    month = month_of(datetime.fromtimestamp(old, UTC))
    await worker.ensure(sessions, {month})
    # a worker configured with a 30-day retention drops that month; this one still believes in it
    assert partition_name(month) in await EventLog(retention_days=30).housekeep(sessions)
    assert month in worker.known
    with pytest.raises(asyncpg.exceptions.CheckViolationError, match="no partition"):
        await count(sessions, stream, entries, configs, None, worker)
    assert await logged(sessions, eid) == []  # nothing half-written: the statistics rolled back with it
    assert await count(sessions, stream, entries, configs, None, worker) == 1
    assert [r.nonce for r in await logged(sessions, eid)] == ["dropped-1"]


def test_exposures_past_the_retention_or_from_a_broken_clock_are_not_logged() -> None:
    now = datetime.now(UTC)

    def exposure(at: datetime) -> Event:
        return Event(kind="x", experiment=str(UUID(int=1)), arm=0, reward=0.0, trials=1, ts=at.timestamp())

    log = EventLog(retention_days=30)
    kept = log.rows([exposure(now - timedelta(days=29)), exposure(now - timedelta(days=31)), exposure(now)])
    assert len(kept) == 2
    assert log.rows([exposure(now + timedelta(days=3)), exposure(datetime(9999, 1, 1, tzinfo=UTC))]) == []
    # guardrail conversions are another goal's metric: kept in their own table, not here
    guardrail = Event(kind="g", experiment=str(UUID(int=1)), arm=0, reward=1.0, trials=0, ts=now.timestamp())
    assert log.rows([guardrail]) == []


async def test_the_housekeeping_job_keeps_the_workers_retention(
    app: Litestar, redis: Redis, sessions: async_sessionmaker[AsyncSession]
) -> None:
    now = datetime.now(UTC)
    old = month_of(now - timedelta(days=80))
    await EventLog().ensure(sessions, {old})
    ctx = {"levers_redis": redis, "redis_keys": app.state.redis_keys, "sessions": sessions}
    await housekeeping({**ctx, "event_log": EventLog(retention_days=30)})
    async with sessions() as session:
        months = await attached(session)
    assert old not in months and next_month(month_of(now)) in months
