"""what a frozen redis must not do: count a selection whose caller was answered 503."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from redis.asyncio import Redis

from app.asgi import create_app
from app.settings import Settings
from tests.integration.conftest import Tenant, register
from tests.support.redis_server import RedisServer, redis_server


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[RedisServer]:
    with redis_server(tmp_path) as server:
        yield server


@pytest.fixture
async def own_client(settings: Settings, own_redis: RedisServer) -> AsyncIterator[AsyncTestClient[Litestar]]:
    app = create_app(replace(settings, redis_url=own_redis.url))
    async with AsyncTestClient(app=app) as client:
        yield client


async def _stream_lengths(redis: Redis, app: Litestar) -> int:
    keys = app.state.redis_keys
    return sum([await redis.xlen(keys.stream(shard)) for shard in range(keys.shards)])


async def test_a_select_answered_503_is_not_counted(
    own_client: AsyncTestClient[Litestar], own_redis: RedisServer
) -> None:
    tenant: Tenant = await register(own_client)
    experiment = await tenant.experiment(arms=2)
    body = {"experiment_id": experiment["id"], "context": {"id": "visitor"}}
    for _ in range(3):
        await tenant.post("/api/v1/select", body, 200)
    redis = Redis.from_url(own_redis.url)
    try:
        assert await _stream_lengths(redis, own_client.app) == 3
        own_redis.freeze()
        try:
            # the hot path's client gives up on a frozen redis: no token, so nothing may count
            response = await tenant.post("/api/v1/select", body)
            assert response.status_code == 503, response.text
        finally:
            own_redis.thaw()
        # the frozen server still holds the command it received, and runs it now
        await asyncio.sleep(1.0)
        assert await _stream_lengths(redis, own_client.app) == 3
        await tenant.post("/api/v1/select", body, 200)  # and recording resumes
        assert await _stream_lengths(redis, own_client.app) == 4
    finally:
        await redis.aclose()
