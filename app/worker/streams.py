"""reading a shard's stream with a consumer group: own pending entries first, then new ones."""

from __future__ import annotations

from dataclasses import dataclass

from redis.asyncio import Redis
from redis.exceptions import ResponseError

from app.runtime.records import Event, event_decoder


def parse_id(entry_id: str) -> tuple[int, int]:
    ms, _, seq = entry_id.partition("-")
    return int(ms), int(seq or 0)


def id_after(entry_id: str, last_id: str | None) -> bool:
    return last_id is None or parse_id(entry_id) > parse_id(last_id)


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


async def read_batch(redis: Redis, stream: str, group: str, consumer: str, count: int, pending: bool) -> list[Entry]:
    """pending=True re-reads entries delivered to this consumer but never acknowledged (a crash mid-batch)."""
    reply = await redis.xreadgroup(group, consumer, {stream: "0" if pending else ">"}, count=count)
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
