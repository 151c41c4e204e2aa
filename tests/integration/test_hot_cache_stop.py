"""shutdown never hangs on the hot cache: a refresh that ignores its cancellation is left behind after a grace."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from redis.asyncio import Redis

from app.lib.entropy import random_hex
from app.runtime.hotcache import HotCache
from app.runtime.keys import RedisKeys
from app.settings import Settings


def _ignores_cancellation() -> tuple[asyncio.Event, asyncio.Event, Callable[[], Awaitable[None]]]:
    """a coroutine that runs until released, whatever cancels it (as a driver waiting out its connection's close
    after a cancel), with the event that releases it and the one it sets when it starts."""
    release, entered = asyncio.Event(), asyncio.Event()

    async def stuck() -> None:
        entered.set()
        while not release.is_set():
            try:
                await release.wait()
            except asyncio.CancelledError:
                continue

    return release, entered, stuck


async def test_stop_ends_a_normal_refresh_loop(redis: Redis) -> None:
    cache = HotCache(redis, RedisKeys("levers_hot_stop_a:", 2), refresh_seconds=0.01)
    cache.start()
    await asyncio.sleep(0.05)
    await cache.stop(grace_seconds=5)
    assert cache._task is None


async def test_stop_gives_up_on_a_refresh_that_will_not_end(redis: Redis) -> None:
    cache = HotCache(redis, RedisKeys("levers_hot_stop_b:", 2), refresh_seconds=0.01)
    release, entered, stuck_refresh = _ignores_cancellation()
    cache.refresh = stuck_refresh  # type: ignore[method-assign]
    cache.start()
    await entered.wait()
    await asyncio.wait_for(cache.stop(grace_seconds=0.2), timeout=5)  # returns: shutdown goes on
    release.set()
    await asyncio.sleep(0.01)


async def test_a_refresh_left_behind_never_reconnects_after_shutdown(redis: Redis, settings: Settings) -> None:
    # redis lost the configuration, so the refresh republishes from postgres; the republish outlives the stop's
    # grace (a driver closing a cancelled connection). shutdown then closes the cache's client. when the
    # republish finally ends, the refresh must not open a new connection on the closed client: redis-py would,
    # and that connection leaked until the event loop closed (a ResourceWarning that failed a ci run).
    name = f"levers-hot-stop-{random_hex()}"
    own = Redis.from_url(settings.redis_url, client_name=name)
    cache = HotCache(own, RedisKeys(f"levers_hot_stop_c_{random_hex()}:", 2), refresh_seconds=0.01)
    release, entered, stuck_republish = _ignores_cancellation()
    cache.republish = stuck_republish
    cache.start()
    task = cache._task
    assert task is not None
    await asyncio.wait_for(entered.wait(), timeout=5)
    await asyncio.wait_for(cache.stop(grace_seconds=0.2), timeout=5)
    await own.aclose()  # what the app's shutdown does next
    release.set()
    await asyncio.wait_for(asyncio.wait({task}), timeout=5)  # the loop ends rather than refreshing on
    await asyncio.sleep(0.05)
    clients = await redis.client_list()
    assert [c for c in clients if c.get("name") == name] == []  # no connection of the closed client is open
