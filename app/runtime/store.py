"""the narrow door through which management and system code read the runtime's redis: never `.redis` itself."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence
from typing import Any

from redis.asyncio import Redis

from app.lib.metrics import scrape
from app.runtime.keys import RedisKeys
from app.runtime.redis import reply


class RuntimeStore:
    def __init__(self, redis: Redis, keys: RedisKeys) -> None:
        self._redis = redis
        self.keys = keys

    async def ping(self) -> None:
        """raises when redis does not answer within two seconds."""
        await asyncio.wait_for(reply(self._redis.ping()), 2.0)

    async def site_sightings(self, public_keys: Sequence[str]) -> list[bytes | None]:
        """each site's last tag sighting as the tag path noted it (json), by public key; None where never seen."""
        if not public_keys:
            return []
        raws: list[bytes | None] = await reply(self._redis.hmget(self.keys.site_seen, list(public_keys)))
        return raws

    async def api_key_uses(self) -> dict[bytes, bytes]:
        """api key id -> unix time of its last use (bytes, as redis holds them)."""
        uses: dict[bytes, bytes] = await reply(self._redis.hgetall(self.keys.api_key_uses))
        return uses

    async def metrics(self, runtimes: Iterable[Any]) -> bytes:
        """the text of /metrics: this process's series, the streams', params' and workers' series."""
        return await scrape(self._redis, self.keys, runtimes)
