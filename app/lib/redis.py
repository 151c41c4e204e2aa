from __future__ import annotations

from redis.asyncio import Redis

from app.lib.keys import RedisKeys
from app.settings import Settings


def create_redis(settings: Settings, *, socket_timeout: float | None = 2.0) -> Redis:
    return Redis.from_url(
        settings.redis_url,
        socket_timeout=socket_timeout,
        socket_connect_timeout=2.0,
        health_check_interval=30,
        decode_responses=False,
    )


def redis_keys(settings: Settings) -> RedisKeys:
    return RedisKeys(prefix=settings.redis_prefix, shards=settings.stream_shards)
