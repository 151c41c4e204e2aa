from __future__ import annotations

from collections.abc import Awaitable
from typing import TypeVar, cast

from redis.asyncio import Redis

from app.runtime.keys import RedisKeys
from app.settings import Settings

T = TypeVar("T")


def create_redis(settings: Settings, *, socket_timeout: float | None = 2.0) -> Redis:
    client: Redis = Redis.from_url(
        settings.redis_url,
        socket_timeout=socket_timeout,
        socket_connect_timeout=2.0,
        health_check_interval=30,
        decode_responses=False,
    )
    return client


def reply(result: Awaitable[T] | T) -> Awaitable[T]:
    """a command's reply as the awaitable it is on redis.asyncio.

    redis-py types each command once for its sync and asyncio clients (`Awaitable[T] | T`), so mypy can't
    tell that an asyncio client's command is always awaitable; this says so without changing anything.
    """
    return cast("Awaitable[T]", result)


def redis_keys(settings: Settings) -> RedisKeys:
    return RedisKeys(prefix=settings.redis_prefix, shards=settings.stream_shards)
