"""config changes reach every web process within 2 s, and a redis that lost the config is refilled from postgres."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import replace
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from redis.asyncio import Redis

from app.asgi import create_app
from app.settings import Settings
from tests.conftest import scoped
from tests.integration.conftest import Tenant, register


@pytest.fixture
async def two_apps(settings: Settings) -> AsyncIterator[tuple[AsyncTestClient[Litestar], AsyncTestClient[Litestar]]]:
    """two app instances (two web processes' worth of state) sharing one redis prefix and one database;
    the second refreshes at the production default of 0.5 s."""
    shared = scoped(settings, "propagation")
    async with AsyncExitStack() as stack:
        first = await stack.enter_async_context(AsyncTestClient(app=create_app(shared)))
        second = await stack.enter_async_context(
            AsyncTestClient(app=create_app(replace(shared, cache_refresh_seconds=0.5)))
        )
        yield first, second


async def within(seconds: float, check: Callable[[], Awaitable[bool]]) -> float:
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        if await check():
            return time.monotonic() - started
        await asyncio.sleep(0.05)
    raise AssertionError(f"not seen within {seconds}s")


def as_tenant(tenant: Tenant, client: AsyncTestClient[Litestar]) -> Tenant:
    other = Tenant(client, tenant.email, "")
    other.headers = tenant.headers
    return other


async def reason_of(tenant: Tenant, experiment_id: str, metadata: dict[str, Any]) -> str:
    body = {"experiment_id": experiment_id, "context": {"id": "visitor-1", "metadata": metadata}}
    response = await tenant.post("/api/v1/select", body)
    return response.json().get("reason", "") if response.status_code == 200 else ""


async def test_gate_changes_reach_the_other_instance_within_two_seconds(two_apps: Any) -> None:
    first_client, second_client = two_apps
    first = await register(first_client)
    second = as_tenant(first, second_client)
    experiment = await first.experiment(arms=2)
    eid = experiment["id"]
    # the experiment itself propagates
    await within(2.0, lambda: _is(reason_of(second, eid, {}), "policy"))

    rule = {"id": "fr", "condition": {"attribute": "country", "operator": "eq", "value": "FR"}, "arm": 1}
    gate = (await first.post("/api/v1/gates", {"experiment_id": eid, "rules": [rule]}, 201)).json()
    # the instance that made the change serves it at once
    assert await reason_of(first, eid, {"country": "FR"}) == "rule:fr"
    await within(2.0, lambda: _is(reason_of(second, eid, {"country": "FR"}), "rule:fr"))

    # and the other way round: a change made on the second instance reaches the first
    response = await second.client.put(f"/api/v1/gates/{gate['id']}", json={"enabled": False}, headers=second.headers)
    assert response.status_code == 200, response.text
    await within(2.0, lambda: _is(reason_of(first, eid, {"country": "FR"}), "default"))

    response = await first.client.delete(f"/api/v1/gates/{gate['id']}", headers=first.headers)
    assert response.status_code == 204
    await within(2.0, lambda: _is(reason_of(second, eid, {"country": "FR"}), "policy"))


async def test_lost_redis_config_is_republished_from_postgres(two_apps: Any, settings: Settings) -> None:
    first_client, second_client = two_apps
    first = await register(first_client)
    second = as_tenant(first, second_client)
    experiment = await first.experiment(arms=2)
    eid = experiment["id"]
    rule = {"id": "fr", "condition": {"attribute": "country", "operator": "eq", "value": "FR"}, "arm": 1}
    await first.post("/api/v1/gates", {"experiment_id": eid, "rules": [rule]}, 201)
    await within(2.0, lambda: _is(reason_of(second, eid, {"country": "FR"}), "rule:fr"))

    keys = first_client.app.state.redis_keys
    redis = Redis.from_url(settings.redis_url)
    try:
        # what a restarted redis without persistence looks like: the whole configuration is gone
        await redis.delete(keys.experiments, keys.gates, keys.sites, keys.api_keys, keys.config_version)
        # both instances keep serving the gate meanwhile, and one of them puts it back from postgres
        assert await reason_of(second, eid, {"country": "FR"}) == "rule:fr"
        await within(2.0, lambda: _exists(redis, keys.config_version))
        assert await redis.hexists(keys.gates, eid) and await redis.hexists(keys.experiments, eid)
        assert await reason_of(first, eid, {"country": "FR"}) == "rule:fr"
        assert await reason_of(second, eid, {"country": "FR"}) == "rule:fr"
        caches = [c.app.state.hot_cache for c in (first_client, second_client)]
        assert sum(c.republished for c in caches) >= 1
    finally:
        await redis.aclose()


async def _is(value: Awaitable[str], expected: str) -> bool:
    return await value == expected


async def _exists(redis: Redis, key: str) -> bool:
    return bool(await redis.exists(key))
