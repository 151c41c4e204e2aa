"""a store that went away is logged once when it goes and once when it is back, never once per tick."""

from __future__ import annotations

import time

import asyncpg
import structlog
from redis.exceptions import ClusterDownError, RedisClusterException, TryAgainError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from sqlalchemy.exc import InterfaceError, OperationalError

log = structlog.get_logger(__name__)


class Outage:
    def __init__(self, store: str, retrying: str = "with back-off") -> None:
        self.store = store
        self.retrying = retrying
        self.since: float | None = None
        self.failures = 0

    def down(self, exc: BaseException) -> None:
        self.failures += 1
        if self.since is None:
            self.since = time.monotonic()
            log.warning(f"{self.store} is unavailable; retrying {self.retrying}", error=str(exc) or type(exc).__name__)

    def up(self) -> None:
        if self.since is not None:
            log.warning(
                f"{self.store} is back; resuming",
                after_seconds=round(time.monotonic() - self.since, 1),
                failed_attempts=self.failures,
            )
            self.since, self.failures = None, 0


# what an unreachable store raises; anything else (a wrong reply, a constraint) is a bug and fails loudly
# (on a cluster also: no node reachable, a slot without a master, a slot being migrated)
REDIS_DOWN = (RedisConnectionError, RedisTimeoutError, OSError, ClusterDownError, RedisClusterException, TryAgainError)
POSTGRES_DOWN = (OperationalError, InterfaceError, asyncpg.PostgresConnectionError, asyncpg.InterfaceError)

REDIS = Outage("redis")
POSTGRES = Outage("postgres")
