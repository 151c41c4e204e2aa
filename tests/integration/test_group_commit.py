"""the group commit sends its commands packed by hand on one pooled connection (app.runtime.events): each reply
answers its own command, an error reply included, and the wire format is the one redis-py would send."""

from __future__ import annotations

import asyncio
import gc
from pathlib import Path

import msgspec
import pytest
from redis.asyncio import Redis
from redis.asyncio.connection import Connection
from redis.exceptions import ResponseError

from app.lib.entropy import random_hex
from app.runtime.events import EventWriter, pack
from app.runtime.records import Event
from app.runtime.redis import redis_keys
from app.settings import Settings
from tests.conftest import scoped
from tests.support.redis_server import redis_server


@pytest.mark.parametrize(
    "command",
    [
        ("EVAL", b"return redis.call('XADD', KEYS[1], '*', 'd', ARGV[1])", 1, "s:{0}", b'{"k":"x"}', 1764584000123),
        ("HSET", "seen", "site-key", b"\x00\xff binary \r\n"),
        ("SET", "caf\u00e9", "", -7),
    ],
)
def test_a_packed_command_is_byte_for_byte_what_redis_py_sends(command: tuple[bytes | str | int, ...]) -> None:
    assert pack(command) == b"".join(Connection().pack_command(*command))


def test_an_argument_of_another_type_is_refused_before_anything_is_sent() -> None:
    with pytest.raises(TypeError, match="float"):
        pack(("SET", "key", 1.5))  # type: ignore[arg-type]


async def test_an_error_reply_answers_only_its_own_command(settings: Settings, redis: Redis) -> None:
    keys = redis_keys(scoped(settings, f"group_commit_{random_hex()}"))
    hot = Redis.from_url(settings.redis_url, socket_timeout=0.5)
    writer = EventWriter(hot, keys)
    wrong_type = f"{keys.prefix}a-string"
    await redis.set(wrong_type, b"not a hash")
    event = Event(kind="x", experiment="e", arm=1, reward=0.0, trials=1, ts=1.0, nonce="n-1")
    try:
        flushes = writer.flushes
        # queued in one loop turn, so one flush carries all four
        replies = await asyncio.gather(
            writer.enqueue(("HSET", keys.site_seen, "site", b"seen")),
            writer.enqueue(("HSET", wrong_type, "field", b"value")),
            writer.once(event, "n-1", 600),
            writer.once(event, "n-1", 600),
            return_exceptions=True,
        )
        assert writer.flushes == flushes + 1
        assert replies[0] == 1
        assert isinstance(replies[1], ResponseError) and "WRONGTYPE" in str(replies[1])
        assert replies[2:] == [True, False]  # appended once, then a repeat: the error shifted no reply
        assert await redis.xlen(keys.stream_for("e")) == 1
        # the connection went back to the pool in step: the next flush reads its own reply
        await writer.exposure(Event(kind="x", experiment="e", arm=0, reward=0.0, trials=1, ts=2.0, nonce="n-2"))
        assert await redis.xlen(keys.stream_for("e")) == 2
        assert await redis.hget(keys.site_seen, "site") == b"seen"
    finally:
        await redis.delete(wrong_type, keys.site_seen, keys.stream_for("e"), keys.dedup("e", "x:n-1"))
        await hot.aclose()


async def test_a_flush_after_redis_restarted_reconnects_instead_of_failing(settings: Settings, tmp_path: Path) -> None:
    """the pooled connection died with the server: the next flush must find that out before writing on it (as
    redis-py's own send would), not answer the select 503 for a redis that is back."""
    with redis_server(tmp_path) as server:
        hot = Redis.from_url(server.url, socket_timeout=1.0, health_check_interval=30)
        writer = EventWriter(hot, redis_keys(scoped(settings, f"group_commit_{random_hex()}")))
        try:
            event = Event(kind="x", experiment="e", arm=1, reward=0.0, trials=1, ts=1.0, nonce="n-1")
            await writer.exposure(event)
            server.stop()
            server.start()  # same port, no data
            await writer.exposure(msgspec.structs.replace(event, nonce="n-2"))
            assert await hot.xlen(writer.keys.stream_for("e")) == 1
        finally:
            await hot.aclose()


async def test_the_health_check_ping_is_sent_when_it_is_due(settings: Settings) -> None:
    """redis-py pings a connection idle past health_check_interval before using it; the group commit does too."""
    hot = Redis.from_url(settings.redis_url, socket_timeout=1.0, health_check_interval=1)
    writer = EventWriter(hot, redis_keys(scoped(settings, f"group_commit_{random_hex()}")))
    pings = 0
    try:
        await writer.enqueue(("GET", "levers_group_commit_nothing"))
        (connection,) = hot.connection_pool._available_connections
        send_ping = connection._send_ping

        async def counted() -> None:
            nonlocal pings
            pings += 1
            await send_ping()

        connection._send_ping = counted
        await writer.enqueue(("GET", "levers_group_commit_nothing"))
        assert pings == 0  # not due yet
        connection.next_health_check = 0.0  # as if idle past the interval
        assert await writer.enqueue(("GET", "levers_group_commit_nothing")) is None
        assert pings == 1
    finally:
        await hot.aclose()


async def test_a_sites_sighting_is_noted_at_most_once_a_window_per_site(settings: Settings, redis: Redis) -> None:
    """the tag sends its page's url with every decide: the first is written at once, the rest of the window's
    are dropped, and the next window's first is written again; each site has its own window."""
    keys = redis_keys(scoped(settings, f"group_commit_{random_hex()}"))
    writer = EventWriter(redis, keys)
    writer.site_sightings.every_seconds = 0.3

    async def noted(site: str) -> str | None:
        await writer.enqueue(("PING",))  # rides the same flush as any note queued before it
        raw = await redis.hget(keys.site_seen, site)
        return None if raw is None else msgspec.json.decode(raw)["url"]

    try:
        writer.site_seen("shop", "https://shop.example/")
        writer.site_seen("shop", "https://shop.example/pricing")
        writer.site_seen("blog", "https://blog.example/post")
        assert await noted("shop") == "https://shop.example/"
        assert await noted("blog") == "https://blog.example/post"
        writer.site_seen("shop", "https://shop.example/cart")
        assert await noted("shop") == "https://shop.example/"
        await asyncio.sleep(0.35)
        writer.site_seen("shop", "https://shop.example/checkout")
        assert await noted("shop") == "https://shop.example/checkout"
        assert msgspec.json.decode(await redis.hget(keys.site_seen, "shop"))["at"] > 0
    finally:
        await redis.delete(keys.site_seen)


async def test_a_failed_note_is_dropped_without_an_unretrieved_exception(settings: Settings, redis: Redis) -> None:
    """a best-effort write that fails (here a key of the wrong type) must not leave an exception nobody
    retrieved: asyncio would report it as an error when the future is collected."""
    keys = redis_keys(scoped(settings, f"group_commit_{random_hex()}"))
    writer = EventWriter(redis, keys)
    await redis.set(keys.site_seen, b"not a hash")
    loop = asyncio.get_running_loop()
    reported: list[dict[str, object]] = []
    previous = loop.get_exception_handler()
    loop.set_exception_handler(lambda _, context: reported.append(context))
    try:
        writer.site_seen("shop", "https://shop.example/")
        assert await writer.enqueue(("PING",)) in (b"PONG", "PONG", True)  # the failed note went in this flush
        await asyncio.sleep(0)
        gc.collect()
        assert reported == []
    finally:
        loop.set_exception_handler(previous)
        await redis.delete(keys.site_seen)
