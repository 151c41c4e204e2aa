"""the drain job: each shard's stream is consumed by one worker at a time, holding a lease in redis."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
import uuid

import structlog
from redis.asyncio import Redis
from redis.exceptions import ResponseError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.lib.metrics import TRAINED_EVENTS, TRAINING_BATCH_SECONDS, TRAINING_BATCH_SIZE
from app.runtime.keys import RedisKeys
from app.worker.event_log import EventLog
from app.worker.recovery import restore_params
from app.worker.streams import READ_CHUNK, ensure_group, read_batch
from app.worker.training import process

log = structlog.get_logger(__name__)

# take the lease when free, renew it when ours, otherwise leave the shard to its owner
_LEASE = """
local owner = redis.call('GET', KEYS[1])
if owner == false then redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) return 1 end
if owner == ARGV[1] then redis.call('PEXPIRE', KEYS[1], ARGV[2]) return 1 end
return 0
"""

# give a lease back only if it is still ours
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


class Drainer:
    def __init__(
        self,
        redis: Redis,
        keys: RedisKeys,
        sessions: async_sessionmaker[AsyncSession],
        *,
        batch_size: int = 1000,
        lease_seconds: float = 10.0,
        budget_seconds: float = 0.8,
        event_log: EventLog | None = None,
    ) -> None:
        self.redis = redis
        self.keys = keys
        self.sessions = sessions
        self.batch_size = batch_size
        self.lease_ms = int(lease_seconds * 1000)
        self.budget_seconds = budget_seconds
        self.worker_id = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._lease = redis.register_script(_LEASE)
        self._release = redis.register_script(_RELEASE)
        self._locks = [asyncio.Lock() for _ in range(keys.shards)]
        self._groups_ready: set[int] = set()
        self.processed = 0
        # every counted event is also appended to the durable log (app.worker.event_log)
        self.event_log = event_log or EventLog()

    async def tick(self) -> int:
        done = 0
        for shard in range(self.keys.shards):
            lock = self._locks[shard]
            if lock.locked():
                continue
            async with lock:
                done += await self.drain_shard(shard)
        return done

    async def release(self) -> None:
        """gives back the shard leases this drainer holds, so another worker takes over at once."""
        for shard in range(self.keys.shards):
            async with self._locks[shard]:
                await self._release(keys=[self.keys.shard_lease(shard)], args=[self.worker_id])

    async def recover(self, shard: int, stream: str) -> None:
        """redis lost the stream's consumer group (a flush, a fail-over to an empty replica): recreate it, and
        put back the params it lost from postgres, where each batch saved them with its statistics."""
        log.warning("the consumer group was gone: redis lost its data, recovering", stream=stream)
        self._groups_ready.discard(shard)
        await ensure_group(self.redis, stream, self.keys.consumer_group)
        self._groups_ready.add(shard)
        await restore_params(self.redis, self.keys, self.sessions)

    async def drain_shard(self, shard: int) -> int:
        lease = self.keys.shard_lease(shard)
        if not await self._lease(keys=[lease], args=[self.worker_id, self.lease_ms]):
            return 0
        stream = self.keys.stream(shard)
        if shard not in self._groups_ready:
            await ensure_group(self.redis, stream, self.keys.consumer_group)
            self._groups_ready.add(shard)
        # one consumer name per shard: whoever holds the lease sees what a crashed owner left pending
        consumer = f"shard-{shard}"
        deadline = time.monotonic() + self.budget_seconds
        total = 0
        pending = True
        while time.monotonic() < deadline:
            try:
                entries = await read_batch(
                    self.redis, stream, self.keys.consumer_group, consumer, self.batch_size, pending
                )
            except ResponseError as exc:
                if "NOGROUP" not in str(exc):
                    raise
                await self.recover(shard, stream)
                continue
            if not entries:
                if pending:
                    pending = False
                    continue
                break
            started = time.perf_counter()
            result = await process(self.redis, self.keys, self.sessions, stream, entries, self.event_log)
            ids = [e.id for e in entries]
            # acknowledged a chunk per round trip, as read (app.worker.streams.READ_CHUNK): one long command
            # would hold redis, and the selects queued behind it, as long as the chunks do together
            for at in range(0, len(ids), READ_CHUNK):
                await self.redis.xack(stream, self.keys.consumer_group, *ids[at : at + READ_CHUNK])
            async with self.redis.pipeline(transaction=False) as pipe:
                # everything before the last entry is in every store and acknowledged
                pipe.xtrim(stream, minid=ids[-1], approximate=False)
                pipe.pexpire(lease, self.lease_ms)
                await pipe.execute()
            total += len(entries)
            self.processed += len(entries)
            seconds = time.perf_counter() - started
            TRAINING_BATCH_SIZE.labels(str(shard)).observe(len(entries))
            TRAINING_BATCH_SECONDS.labels(str(shard)).observe(seconds)
            TRAINED_EVENTS.labels(str(shard)).inc(result.trained)
            log.debug(
                "batch trained",
                stream=stream,
                entries=result.entries,
                trained=result.trained,
                counted=result.counted,
                duration_ms=round(seconds * 1000, 2),
            )
            if log.is_enabled_for(logging.DEBUG):
                # one line per event, carrying the id of the request that wrote it (LOG_LEVEL=DEBUG to trace)
                for entry in entries:
                    if entry.event is not None:
                        log.debug(
                            "event processed",
                            request_id=entry.event.request_id,
                            experiment_id=entry.event.experiment,
                            kind=entry.event.kind,
                            arm=entry.event.arm,
                            entry_id=entry.id,
                            stream=stream,
                        )
            if not pending and len(entries) < self.batch_size:
                # caught up: what arrives from now on waits for the next tick (≤ 1 s) and goes in one batch.
                # reading on at once trained batches of the few dozen events that came in while the last one
                # ran, each paying the batch's ~10 postgres round trips: ~300 µs of worker cpu per select under
                # load against ~40 at full batches (bench/hot_path.py), cpu the web process shares on a small box
                break
        return total
