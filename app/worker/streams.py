"""reading a shard's stream with a consumer group: own pending entries first, then new ones."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import ResponseError

from app.runtime.records import Event, event_decoder


def parse_id(entry_id: str) -> tuple[int, int]:
    ms, _, seq = entry_id.partition("-")
    return int(ms), int(seq or 0)


def entries_after(entries: list[Entry], last_id: str | None) -> list[Entry]:
    """the entries past `last_id` (all of them when it is None), with `last_id` parsed once for the batch."""
    if last_id is None:
        return list(entries)
    last = parse_id(last_id)
    return [e for e in entries if parse_id(e.id) > last]


@dataclass(frozen=True)
class Entry:
    id: str
    event: Event | None  # None when the entry could not be parsed: it is acknowledged and skipped


async def ensure_group(redis: Redis, stream: str, group: str) -> None:
    try:
        await redis.xgroup_create(stream, group, id="0", mkstream=True)
    except ResponseError as exc:
        if "BUSYGROUP" not in str(exc):
            raise


# entries per XREADGROUP. redis serves one command at a time: reading 1,000 entries in one command held it up to
# 3 ms (its slowlog under bench/hot_path.py), and every select queued behind it paid that in its p99 (select's
# p99 at 8 connections was 2.6x the bare route's with this worker running, 1.3x with it stopped). reading the
# batch in chunks, one round trip each, lets the web process's writes in between; the batch trained stays whole.
READ_CHUNK = 100


async def read_batch(
    redis: Redis, stream: str, group: str, consumer: str, count: int, pending: bool, chunk: int = READ_CHUNK
) -> list[Entry]:
    """up to `count` entries, read `chunk` at a time. pending=True re-reads entries delivered to this consumer but
    never acknowledged (a crash mid-batch), from the start of its pending list."""
    entries: list[Entry] = []
    start = "0" if pending else ">"
    while len(entries) < count:
        want = min(chunk, count - len(entries))
        reply = await redis.xreadgroup(group, consumer, {stream: start}, count=want)
        read = _entries(reply)
        entries += read
        if len(read) < want:
            break
        if pending:
            start = read[-1].id  # the pending list goes on after the last entry read, not from its start again
    return entries


def _entries(reply: Any) -> list[Entry]:
    entries: list[Entry] = []
    for _, messages in reply or []:
        for raw_id, fields in messages:
            entry_id = raw_id.decode() if isinstance(raw_id, bytes) else raw_id
            data = (fields or {}).get(b"d")
            try:
                event = event_decoder.decode(data) if data is not None else None
            except Exception:
                event = None
            entries.append(Entry(id=entry_id, event=event))
    return entries
