"""the worker's own schedule on a redis cluster (app.worker.schedule): each occurrence of a periodic job is claimed
by one worker only, and a job that fails, or finds a store gone, neither stops the schedule nor goes unreported."""

from __future__ import annotations

from typing import Any

import pytest
from litestar import Litestar
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError

from app.runtime import outage
from app.worker import schedule
from app.worker.schedule import Periodic


async def test_one_worker_claims_each_occurrence(client: object, app: Litestar, redis: Redis) -> None:
    # (client: the app's startup makes its redis keys)
    ctx: dict[str, Any] = {"redis_keys": app.state.redis_keys, "levers_redis": redis}
    periodic = schedule.PERIODIC[0]
    at = 1_700_000_015
    assert await schedule._claim(ctx, periodic, at)
    # a second worker (same keys) finds this occurrence taken, and the next one free
    assert not await schedule._claim(ctx, periodic, at)
    assert await schedule._claim(ctx, periodic, at + periodic.every_seconds)
    ttl = await redis.ttl(app.state.redis_keys.schedule(periodic.name, at))
    assert 0 < ttl <= periodic.every_seconds * 2


async def test_a_claim_without_redis_is_not_a_claim(client: object, app: Litestar) -> None:
    unreachable = Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2)
    ctx: dict[str, Any] = {"redis_keys": app.state.redis_keys, "levers_redis": unreachable}
    assert not await schedule._claim(ctx, schedule.PERIODIC[1], 1_700_000_030)
    await unreachable.aclose()


async def test_a_failing_job_is_reported_and_a_lost_store_is_marked_down(monkeypatch: pytest.MonkeyPatch) -> None:
    async def broken(_: dict[str, Any]) -> int:
        raise ValueError("a bug in the job")

    async def redis_gone(_: dict[str, Any]) -> int:
        raise RedisConnectionError("connection refused")

    # a plain failure is logged and swallowed: the schedule goes on
    await schedule._run({}, Periodic("broken", broken, every_seconds=60, offset_seconds=0, timeout_seconds=1))
    failures = outage.REDIS.failures
    await schedule._run({}, Periodic("gone", redis_gone, every_seconds=60, offset_seconds=0, timeout_seconds=1))
    assert outage.REDIS.failures == failures + 1 and outage.REDIS.since is not None
    outage.REDIS.up()
