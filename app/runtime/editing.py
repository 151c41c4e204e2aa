"""short-lived redis state of the visual editor and the install check: single-use tokens, editor sessions,
install reports and the origins a site's tag was refused from. the only module of these features that talks
to redis; domain code goes through EditingStore."""

from __future__ import annotations

import hashlib
import secrets
import time
from datetime import UTC, datetime
from typing import Any

import msgspec
from redis.asyncio import Redis
from redis.exceptions import RedisError

from app.runtime.keys import RedisKeys
from app.runtime.redis import reply

# a site keeps at most this many refused origins; a flood of forged Origin headers can't grow it further
MAX_REFUSED_ORIGINS = 20
REFUSED_TTL_SECONDS = 30 * 24 * 3600
# one redis write per site, origin and process per minute at most
REFUSED_EVERY_SECONDS = 60.0
_REFUSED_MEMORY = 10_000

# a new origin is added only while the hash has room; known origins are refreshed
_NOTE_REFUSED = """
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 and redis.call('HLEN', KEYS[1]) >= tonumber(ARGV[3]) then
  return 0
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('EXPIRE', KEYS[1], ARGV[4])
return 1
"""


class Refusal(msgspec.Struct):
    """a request from an origin the site does not allow: when last, from which page, how often (rate-limited
    notes, so a lower bound)."""

    origin: str
    at: float
    page: str = ""
    count: int = 1

    @property
    def when(self) -> datetime:
        return datetime.fromtimestamp(self.at, UTC)


def _digest(token: str) -> str:
    # only a hash of a token is stored: a redis dump can't be replayed into an editor session
    return hashlib.sha256(token.encode()).hexdigest()


class EditingStore:
    def __init__(self, redis: Redis, keys: RedisKeys) -> None:
        self.redis = redis
        self.keys = keys
        self._refused_written: dict[tuple[str, str], float] = {}

    def _key(self, kind: str, name: str) -> str:
        return self.keys.editing(kind, name)

    async def issue(self, kind: str, data: dict[str, Any], ttl: int) -> str:
        """a random token for `data`, kept `ttl` seconds."""
        token = secrets.token_urlsafe(24)
        await reply(self.redis.set(self._key(kind, _digest(token)), msgspec.json.encode(data), ex=ttl))
        return token

    async def take(self, kind: str, token: str) -> dict[str, Any] | None:
        """the data of a token, which is used up by reading it (single use)."""
        raw = await reply(self.redis.getdel(self._key(kind, _digest(token))))
        return msgspec.json.decode(raw) if raw else None

    async def peek(self, kind: str, token: str) -> dict[str, Any] | None:
        raw = await reply(self.redis.get(self._key(kind, _digest(token))))
        return msgspec.json.decode(raw) if raw else None

    async def put(self, kind: str, name: str, data: dict[str, Any], ttl: int) -> None:
        await reply(self.redis.set(self._key(kind, name), msgspec.json.encode(data), ex=ttl))

    async def get(self, kind: str, name: str) -> dict[str, Any] | None:
        raw = await reply(self.redis.get(self._key(kind, name)))
        return msgspec.json.decode(raw) if raw else None

    async def delete(self, kind: str, name: str) -> None:
        await reply(self.redis.delete(self._key(kind, name)))

    # refused origins

    def _refused_key(self, site_key: str) -> str:
        return self.keys.refused_origins(site_key)

    async def note_refused(self, site_key: str, origin: str, page: str) -> bool:
        """records a refused origin; rate-limited per process and bounded per site. never raises."""
        now = time.time()
        pair = (site_key, origin)
        if now - self._refused_written.get(pair, 0.0) < REFUSED_EVERY_SECONDS:
            return False
        if len(self._refused_written) >= _REFUSED_MEMORY:
            self._refused_written.clear()
        self._refused_written[pair] = now
        key = self._refused_key(site_key)
        try:
            previous = await reply(self.redis.hget(key, origin))
            count = 1
            if previous:
                try:
                    count = msgspec.json.decode(previous, type=Refusal).count + 1
                except msgspec.DecodeError:
                    count = 1
            note = msgspec.json.encode(Refusal(origin=origin, at=now, page=page[:500], count=count))
            args = (origin, note, MAX_REFUSED_ORIGINS, REFUSED_TTL_SECONDS)
            return bool(await reply(self.redis.eval(_NOTE_REFUSED, 1, key, *args)))  # type: ignore[arg-type]
        except (RedisError, OSError):
            return False

    async def refused(self, site_keys: list[str]) -> dict[str, list[Refusal]]:
        """each site's refused origins, newest first; nothing while redis is unreachable."""
        out: dict[str, list[Refusal]] = {}
        try:
            for site_key in site_keys:
                raw: dict[bytes, bytes] = await reply(self.redis.hgetall(self._refused_key(site_key)))
                notes = []
                for value in raw.values():
                    try:
                        notes.append(msgspec.json.decode(value, type=Refusal))
                    except msgspec.DecodeError:
                        continue
                if notes:
                    out[site_key] = sorted(notes, key=lambda n: -n.at)
        except (RedisError, OSError):
            return out
        return out

    async def forget_refused(self, site_key: str, origins: list[str]) -> None:
        if origins:
            await reply(self.redis.hdel(self._refused_key(site_key), *origins))
        for origin in origins:
            self._refused_written.pop((site_key, origin), None)
