"""redis loses everything mid-traffic (a flush, a fail-over to an empty replica) and nobody has to step in:
the worker recreates its consumer groups and carries on, params keep what they learnt, replayed feedbacks are
not counted again, and revoked access stays revoked. the test flushes a redis-server of its own."""

from __future__ import annotations

import asyncio
import gc
import json
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

from app.asgi import create_app
from app.runtime.records import params_decoder
from app.settings import Settings
from app.worker.drain import Drainer
from tests.integration.conftest import Tenant, register
from tests.integration.test_tag_api import make_shop
from tests.integration.test_team_roles import join_by_link
from tests.support.redis_server import RedisServer, redis_server


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[RedisServer]:
    with redis_server(tmp_path) as server:
        yield server
    # the clients and pools of this test's apps are finalised here, not at some later collection that may
    # land inside pytest's own ast.parse (cpython 3.11.7 then raises a spurious "recursion depth mismatch")
    gc.collect()


@pytest.fixture
def own_settings(settings: Settings, own_redis: RedisServer) -> Settings:
    return replace(settings, redis_url=own_redis.url)


@pytest.fixture
async def own_client(own_settings: Settings) -> AsyncIterator[AsyncTestClient[Litestar]]:
    async with AsyncTestClient(app=create_app(own_settings)) as client:
        yield client


@pytest.fixture
async def own_redis_client(own_redis: RedisServer) -> AsyncIterator[Redis]:
    client = Redis.from_url(own_redis.url)
    yield client
    await client.aclose()


@pytest.fixture
async def drainer(own_client: AsyncTestClient[Litestar], own_settings: Settings, own_redis_client: Redis) -> Any:
    engine = create_async_engine(own_settings.async_database_url)
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    drainer = Drainer(own_redis_client, own_client.app.state.redis_keys, sessions, lease_seconds=30)
    yield drainer
    await engine.dispose()


async def drain(drainer: Drainer) -> None:
    while await drainer.tick():
        pass


async def traffic(tenant: Tenant, experiment_id: str, visitors: int, convert_every: int) -> list[str]:
    """selects for `visitors`, converts every `convert_every`-th on arm 1 and every other on arm 0; returns
    the tokens that converted."""
    converted = []
    for i in range(visitors):
        selected = (await tenant.post("/api/v1/select", {"experiment_id": experiment_id}, 200)).json()
        arm, token = selected["arm"]["index"], selected["selection_token"]
        if i % (convert_every if arm == 0 else 2) == 0:
            await tenant.post("/api/v1/feedback", {"selection_token": token, "reward": 1}, 202)
            converted.append(token)
    return converted


async def totals(tenant: Tenant, experiment_id: str) -> tuple[int, int]:
    stats = (await tenant.get(f"/api/v1/experiments/{experiment_id}/stats", 200)).json()
    return sum(a["exposures"] for a in stats["arms"]), sum(a["feedbacks"] for a in stats["arms"])


async def test_a_flushed_redis_recovers_params_stats_dedup_and_revocations(
    own_client: AsyncTestClient[Litestar],
    own_settings: Settings,
    own_redis_client: Redis,
    drainer: Drainer,
) -> None:
    tenant = await register(own_client)
    keys = own_client.app.state.redis_keys
    experiment_id = (await tenant.experiment(reward_mode="conversion"))["id"]
    invite = await tenant.post("/api/v1/team/invitations", {"role": "editor"}, 201)
    email, removed_headers = await join_by_link(own_client, invite.json()["url"])
    members = (await tenant.get("/api/v1/team/members", 200)).json()
    member = next(m for m in members if m["email"] == email)
    assert (await own_client.get("/api/v1/experiments", headers=removed_headers)).status_code == 200
    await asyncio.sleep(1.1)  # access tokens carry whole seconds: one issued in the second of a change survives it
    removed = await own_client.delete(f"/api/v1/team/members/{member['id']}", headers=tenant.headers)
    assert removed.status_code == 204
    assert (await own_client.get("/api/v1/experiments", headers=removed_headers)).status_code == 401

    converted = await traffic(tenant, experiment_id, 60, 5)
    await drain(drainer)
    before = await totals(tenant, experiment_id)
    assert before == (60, len(converted))
    learnt = params_decoder.decode(await own_redis_client.get(keys.params(experiment_id)))
    assert learnt.events == 60 + len(converted)

    # more traffic is on its way while redis loses everything
    await traffic(tenant, experiment_id, 10, 5)
    await own_redis_client.flushall()

    # a web process started now knows nothing but what postgres tells it: the removed member stays out
    async with AsyncTestClient(app=create_app(own_settings)) as fresh:
        assert (await fresh.get("/api/v1/experiments", headers=removed_headers)).status_code == 401
        assert (await fresh.get("/api/v1/experiments", headers=tenant.headers)).status_code == 200

    # the visitors of before the flush send their conversions again (a retry, a replayed request)
    for token in converted[:20]:
        replay = await tenant.post("/api/v1/feedback", {"selection_token": token, "reward": 1}, 202)
        assert replay.json()["accepted"]
    after_converted = await traffic(tenant, experiment_id, 30, 5)
    await drain(drainer)  # its consumer group is gone: recreated, and training resumes

    exposures, feedbacks = await totals(tenant, experiment_id)
    assert (exposures, feedbacks) == (before[0] + 30, before[1] + len(after_converted)), "replays counted again"
    record = params_decoder.decode(await own_redis_client.get(keys.params(experiment_id)))
    # what was learnt before the flush is kept, the replays are not learnt twice; params and stats agree
    assert record.events == learnt.events + 30 + len(after_converted) == exposures + feedbacks
    # the durable event log dropped the replays with the statistics: one row per exposure, each reward once
    logged = (await tenant.get(f"/api/v1/experiments/{experiment_id}/events?format=jsonl", 200)).text.splitlines()
    rewards = [json.loads(line)["reward"] for line in logged]
    assert len(rewards) == exposures and sum(rewards) == feedbacks and max(rewards) == 1
    # and training goes on with the next batch
    await traffic(tenant, experiment_id, 5, 5)
    await drain(drainer)
    assert (await totals(tenant, experiment_id))[0] == exposures + 5


async def test_a_tag_conversion_id_counts_once_across_a_flush(
    own_client: AsyncTestClient[Litestar], own_redis_client: Redis, drainer: Drainer
) -> None:
    tenant = await register(own_client)
    shop = await make_shop(tenant)
    order = {"k": "c", "g": "purchase", "r": 1, "d": "order-1"}
    first = await shop.token("v1")
    assert (await shop.events([{"k": "x", "t": first}, {**order, "t": first}]))["accepted"] == 2
    await drain(drainer)
    await own_redis_client.flushall()
    # the confirmation page is reloaded after the loss: a new page view, the same order id
    second = await shop.token("v2")
    assert (await shop.events([{"k": "x", "t": second}, {**order, "t": second}]))["accepted"] == 2
    await drain(drainer)
    assert await totals(tenant, shop.experiment["id"]) == (2, 1)


async def test_a_tag_exposure_replayed_after_a_flush_counts_once(
    own_client: AsyncTestClient[Litestar], own_redis_client: Redis, drainer: Drainer
) -> None:
    tenant = await register(own_client)
    shop = await make_shop(tenant)
    token = await shop.token("v1")
    batch = [{"k": "x", "t": token}, {"k": "c", "t": token, "g": "purchase", "r": 1}]
    assert (await shop.events(batch))["accepted"] == 2
    await drain(drainer)
    assert await totals(tenant, shop.experiment["id"]) == (1, 1)
    await own_redis_client.flushall()
    # the tag sends the same batch again (a retried beacon, a restored tab): redis forgot both marks, so the
    # web takes them; the worker must count neither twice
    assert (await shop.events(batch))["accepted"] == 2
    await drain(drainer)
    assert await totals(tenant, shop.experiment["id"]) == (1, 1), "a replayed tag exposure was counted again"
    # a new visitor after the loss still counts
    fresh = await shop.token("v2")
    assert (await shop.events([{"k": "x", "t": fresh}]))["accepted"] == 1
    await drain(drainer)
    assert await totals(tenant, shop.experiment["id"]) == (2, 1)
