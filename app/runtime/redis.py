"""redis clients: one redis, or a redis cluster (REDIS_CLUSTER=1 or a redis+cluster:// url)."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any, TypeVar, cast

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline
from redis.asyncio.cluster import RedisCluster

from app.runtime.keys import RedisKeys
from app.settings import Settings

T = TypeVar("T")


def create_redis(settings: Settings, *, socket_timeout: float | None = 2.0) -> Redis:
    options: dict[str, Any] = {
        "socket_timeout": socket_timeout,
        "socket_connect_timeout": 2.0,
        "health_check_interval": 30,
        "decode_responses": False,
    }
    if settings.redis_is_cluster:
        # the cluster client speaks the same commands; every multi-key operation levers sends stays in one
        # slot (app.runtime.keys), and pipelines are split per node by the client. typed as Redis, as the
        # code that uses it only calls what both share (`transaction` covers the one difference)
        cluster = RedisCluster.from_url(settings.redis_client_url, **options)
        return cast("Redis", cluster)
    client: Redis = Redis.from_url(settings.redis_client_url, **options)
    return client


def is_cluster(redis: Redis) -> bool:
    return isinstance(redis, RedisCluster)


def transaction(redis: Redis) -> Pipeline:
    """a MULTI/EXEC pipeline on one redis. redis-py 5 has no transactions on a cluster: there the commands go
    as a plain pipeline, in order, to the one node that holds their slot (they share the `{cfg}` tag), so a
    reader may see the first of them before the last; the publisher's writes bump the config version last."""
    if is_cluster(redis):
        return redis.pipeline(transaction=False)
    return redis.pipeline(transaction=True)


def socket_timeout_of(redis: Redis) -> float | None:
    """the client's socket timeout, for deadlines that must fall inside it."""
    kwargs: dict[str, Any]
    if is_cluster(redis):
        kwargs = cast("RedisCluster", redis).connection_kwargs
    else:
        kwargs = redis.connection_pool.connection_kwargs
    timeout = kwargs.get("socket_timeout")
    return float(timeout) if timeout else None


def reply(result: Awaitable[T] | T) -> Awaitable[T]:
    """a command's reply as the awaitable it is on redis.asyncio.

    redis-py types each command once for its sync and asyncio clients (`Awaitable[T] | T`), so mypy can't
    tell that an asyncio client's command is always awaitable; this says so without changing anything.
    """
    return cast("Awaitable[T]", result)


def redis_keys(settings: Settings) -> RedisKeys:
    return RedisKeys(prefix=settings.redis_prefix, shards=settings.stream_shards)
