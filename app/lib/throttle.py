"""throttles for the anonymous, expensive doors: login, register, invitation acceptance and password reset.

two limits, both in redis so they hold across web processes and instances:
- per client address: a fixed one-minute window (e.g. 10 attempts a minute), per action;
- per account (the email, hashed: no addresses in key names): after a few free failures each further failed
  login locks the account's logins for 1, 2, 4 ... seconds (capped), reset by a success. it is keyed by the
  email whether or not such an account exists, so the answer does not reveal accounts.

a refused attempt is a 429 with Retry-After, before any password is hashed. when redis is away the throttle
lets attempts through (logged): locking every person out because a cache is down would be worse.
"""

from __future__ import annotations

import hashlib
import math
import time
from typing import Any

import structlog
from litestar.exceptions import TooManyRequestsException
from litestar.middleware.rate_limit import get_remote_address
from redis.asyncio import Redis
from redis.exceptions import RedisError

from app.runtime.keys import RedisKeys

log = structlog.get_logger(__name__)

WINDOW_SECONDS = 60
FAILURES_WINDOW_SECONDS = 3600


def client_address(request: Any) -> str:
    """the caller's address as uvicorn resolved it (proxy headers only from FORWARDED_ALLOW_IPS)."""
    return get_remote_address(request)


def _digest(value: str) -> str:
    return hashlib.sha256(value.strip().lower().encode()).hexdigest()[:32]


class Throttle:
    def __init__(
        self,
        redis: Redis,
        keys: RedisKeys,
        per_address_per_minute: int = 10,
        free_failures: int = 5,
        max_lock_seconds: int = 900,
    ) -> None:
        self.redis = redis
        self.keys = keys
        self.per_address = per_address_per_minute
        self.free_failures = free_failures
        self.max_lock = max_lock_seconds

    def _refuse(self, retry_after: float, detail: str) -> TooManyRequestsException:
        seconds = max(1, math.ceil(retry_after))
        return TooManyRequestsException(detail=detail, headers={"Retry-After": str(seconds)})

    async def address(self, action: str, address: str) -> None:
        """counts one attempt of `action` from `address`; raises a 429 once the minute's share is spent."""
        now = time.time()
        window = int(now // WINDOW_SECONDS)
        key = self.keys.throttle_window(action, address, window)
        try:
            async with self.redis.pipeline(transaction=False) as pipe:
                pipe.incr(key)
                pipe.expire(key, WINDOW_SECONDS + 1)
                count, _ = await pipe.execute()
        except (RedisError, OSError) as exc:
            log.warning("throttle unavailable", action=action, error=str(exc))
            return
        if int(count) > self.per_address:
            retry = (window + 1) * WINDOW_SECONDS - now
            raise self._refuse(retry, f"too many {action} attempts from your address; try again later")

    async def account_open(self, action: str, account: str) -> None:
        """raises a 429 while the account's back-off after failed attempts lasts."""
        try:
            until = await self.redis.get(self.keys.throttle_lock(action, _digest(account)))
        except (RedisError, OSError) as exc:
            log.warning("throttle unavailable", action=action, error=str(exc))
            return
        if until is not None:
            retry = float(until) - time.time()
            if retry > 0:
                raise self._refuse(retry, f"too many failed {action} attempts for this account; try again later")

    async def account_failed(self, action: str, account: str) -> None:
        digest = _digest(account)
        failures_key = self.keys.throttle_failures(action, digest)
        try:
            async with self.redis.pipeline(transaction=False) as pipe:
                pipe.incr(failures_key)
                pipe.expire(failures_key, FAILURES_WINDOW_SECONDS)
                failures, _ = await pipe.execute()
            beyond = int(failures) - self.free_failures
            if beyond > 0:
                seconds = min(self.max_lock, 2 ** (beyond - 1))
                await self.redis.set(
                    self.keys.throttle_lock(action, digest), repr(time.time() + seconds), ex=max(1, seconds)
                )
        except (RedisError, OSError) as exc:
            log.warning("throttle unavailable", action=action, error=str(exc))

    async def account_succeeded(self, action: str, account: str) -> None:
        digest = _digest(account)
        try:
            failures, lock = self.keys.throttle_failures(action, digest), self.keys.throttle_lock(action, digest)
            await self.redis.delete(failures, lock)
        except (RedisError, OSError) as exc:
            log.warning("throttle unavailable", action=action, error=str(exc))

    async def once_per(self, action: str, account: str, seconds: int) -> bool:
        """true for the first call per account in `seconds` (e.g. one reset mail a minute), false for the rest.

        callers answer the same either way; the account is hashed, as above. without redis: true."""
        try:
            first = await self.redis.set(self.keys.throttle_once(action, _digest(account)), "1", nx=True, ex=seconds)
        except (RedisError, OSError) as exc:
            log.warning("throttle unavailable", action=action, error=str(exc))
            return True
        return bool(first)
