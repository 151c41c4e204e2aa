"""cost of recording an exposure: ``uv run python bench/events.py --redis redis://127.0.0.1:6379/0``.

prints, for bursts of ``--burst`` concurrent exposures through the group-committing EventWriter, the client
cpu µs per exposure and the redis cpu µs per exposure (from INFO's used_cpu_user + used_cpu_sys, so other
clients of a shared redis add noise), for a plain XADD and for the deadline-checked script the writer uses (an
exposure redis runs after its caller gave up appends nothing), the latter also through redis-py's pipeline, as
the writer sends on a redis cluster (one redis gets commands packed by hand: app.runtime.events.pack). keys go
under a throwaway prefix, deleted after.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from redis.asyncio import Redis

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.runtime.events import EventWriter
from app.runtime.keys import RedisKeys
from app.runtime.records import Event, encode


class PlainWriter(EventWriter):
    """the writer as it was: a bare XADD, appended whenever redis gets to run it."""

    async def exposure(self, event: Event) -> None:
        stream, data = self.keys.stream_for(event.experiment), encode(event)
        await self._submit(("XADD", stream, "*", "d", data))


class RedisPyPipelineWriter(EventWriter):
    """the writer sending through redis-py's pipeline, as it does on a cluster."""

    def __init__(self, redis: Redis, keys: RedisKeys) -> None:
        super().__init__(redis, keys)
        self._cluster = True


async def _redis_cpu(redis: Redis) -> float:
    info: dict[str, Any] = await redis.info("cpu")
    return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])


async def run(writer: EventWriter, bursts: int, burst: int) -> tuple[float, float]:
    event = Event(kind="x", experiment="bench", arm=0, reward=0.0, trials=1, ts=time.time(), nonce="n" * 16)
    redis_before, cpu_before = await _redis_cpu(writer.redis), time.process_time()
    for _ in range(bursts):
        await asyncio.gather(*(writer.exposure(event) for _ in range(burst)))
    client = (time.process_time() - cpu_before) / (bursts * burst) * 1e6
    server = (await _redis_cpu(writer.redis) - redis_before) / (bursts * burst) * 1e6
    return client, server


async def measure(url: str, bursts: int, burst: int) -> None:
    redis = Redis.from_url(url, socket_timeout=0.5)
    keys = RedisKeys(prefix=f"bench-events-{secrets.token_hex(4)}:", shards=1)
    try:
        writers = (
            ("xadd", PlainWriter(redis, keys)),
            ("deadline script", EventWriter(redis, keys)),
            ("same, redis-py pipeline", RedisPyPipelineWriter(redis, keys)),
        )
        for size in sorted({8, burst}):
            print(f"bursts of {size} exposures:")
            for name, writer in writers:
                await run(writer, 20, size)  # warm up
                client, server = await run(writer, bursts * burst // size, size)
                print(f"{name:>24}: client {client:6.1f} µs/exposure, redis {server:6.1f} µs/exposure")
    finally:
        await redis.delete(keys.stream(0))
        await redis.aclose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--redis", default=os.environ.get("TEST_REDIS_URL", ""), help="default: an embedded redis")
    parser.add_argument("--bursts", type=int, default=200)
    parser.add_argument("--burst", type=int, default=50)
    args = parser.parse_args()
    if args.redis:
        asyncio.run(measure(args.redis, args.bursts, args.burst))
        return
    from app.lib.embedded import embedded_stores

    with (
        tempfile.TemporaryDirectory(prefix="levers-bench-events-") as data_dir,
        embedded_stores(Path(data_dir), need_postgres=False, need_redis=True) as env,
    ):
        asyncio.run(measure(env["REDIS_URL"], args.bursts, args.burst))


if __name__ == "__main__":
    main()
