"""the worker reads a batch in chunks (redis serves one command at a time; a long read stalls the hot path's
writes): the chunks add up to the same batch, in order, for new entries and for a crashed owner's pending ones."""

from __future__ import annotations

import msgspec
from redis.asyncio import Redis

from app.lib.entropy import random_hex
from app.runtime.records import Event
from app.worker.streams import ensure_group, read_batch


async def _stream_of(redis: Redis, count: int) -> tuple[str, list[str]]:
    stream = f"levers_test_chunks_{random_hex()}"
    ids = []
    for i in range(count):
        event = Event(kind="x", experiment="e", arm=i % 3, reward=0.0, trials=1, ts=1.0, nonce=f"n-{i}")
        raw = await redis.xadd(stream, {"d": msgspec.json.encode(event)})
        ids.append(raw.decode())
    await ensure_group(redis, stream, "g")
    return stream, ids


async def test_new_entries_are_read_in_chunks_up_to_the_batch(redis: Redis) -> None:
    stream, ids = await _stream_of(redis, 23)
    try:
        first = await read_batch(redis, stream, "g", "c", 10, pending=False, chunk=4)
        rest = await read_batch(redis, stream, "g", "c", 100, pending=False, chunk=4)
        assert [e.id for e in first] == ids[:10]  # 4 + 4 + 2: the batch's size, not a chunk past it
        assert [e.id for e in rest] == ids[10:]  # 4, 4, 4, 1: stops at the stream's end
        assert [e.event.nonce for e in rest if e.event] == [f"n-{i}" for i in range(10, 23)]
        assert await read_batch(redis, stream, "g", "c", 100, pending=False, chunk=4) == []
    finally:
        await redis.delete(stream)


async def test_a_crashed_owners_pending_entries_are_reread_whole_in_chunks(redis: Redis) -> None:
    stream, ids = await _stream_of(redis, 11)
    try:
        delivered = await read_batch(redis, stream, "g", "c", 100, pending=False, chunk=3)
        assert len(delivered) == 11
        # never acknowledged: the next owner re-reads them from the pending list, each once, in order
        again = await read_batch(redis, stream, "g", "c", 100, pending=True, chunk=3)
        assert [e.id for e in again] == ids
        some = await read_batch(redis, stream, "g", "c", 5, pending=True, chunk=3)
        assert [e.id for e in some] == ids[:5]
        await redis.xack(stream, "g", *ids[:9])
        assert [e.id for e in await read_batch(redis, stream, "g", "c", 100, pending=True, chunk=3)] == ids[9:]
    finally:
        await redis.delete(stream)
