"""shutdown never hangs on the hot cache: a refresh that ignores its cancellation is left behind after a grace."""

from __future__ import annotations

import asyncio

from redis.asyncio import Redis

from app.runtime.hotcache import HotCache
from app.runtime.keys import RedisKeys


async def test_stop_ends_a_normal_refresh_loop(redis: Redis) -> None:
    cache = HotCache(redis, RedisKeys("levers_hot_stop_a:", 2), refresh_seconds=0.01)
    cache.start()
    await asyncio.sleep(0.05)
    await cache.stop(grace_seconds=5)
    assert cache._task is None


async def test_stop_gives_up_on_a_refresh_that_will_not_end(redis: Redis) -> None:
    cache = HotCache(redis, RedisKeys("levers_hot_stop_b:", 2), refresh_seconds=0.01)
    release = asyncio.Event()
    entered = asyncio.Event()

    async def stuck_refresh() -> None:
        # as a driver does that waits out its connection's close after a cancel
        entered.set()
        while not release.is_set():
            try:
                await release.wait()
            except asyncio.CancelledError:
                continue

    cache.refresh = stuck_refresh  # type: ignore[method-assign]
    cache.start()
    await entered.wait()
    await asyncio.wait_for(cache.stop(grace_seconds=0.2), timeout=5)  # returns: shutdown goes on
    release.set()
    await asyncio.sleep(0.01)
