"""group commit of events to the redis streams.

each request appends its event to an in-process buffer and awaits one pipelined flush shared with the
requests of the same moment, so a 2xx still means "in redis" at a fraction of the per-request cost.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import msgspec
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from app.runtime.keys import RedisKeys
from app.runtime.notes import OncePer
from app.runtime.records import Event, encode
from app.runtime.redis import is_cluster, socket_timeout_of

# set-if-new and append in one step: a repeated feedback is never appended twice, and a first feedback
# is never marked as seen without being appended
_FEEDBACK_ONCE = b"""
if redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[1]) then
  redis.call('XADD', KEYS[2], '*', 'd', ARGV[2])
  return 1
end
return 0
"""

# an exposure is appended only while the request that records it still waits for the answer: a redis that
# was frozen (or a network that held the command) runs it late, after the caller answered 503 with no token,
# and that selection must not count. redis's own clock judges, against a deadline well inside the client's
# socket timeout (clocks of web and redis hosts are assumed within that margin, as ntp keeps them)
_EXPOSURE_IN_TIME = b"""
local now = redis.call('TIME')
if tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000) > tonumber(ARGV[2]) then return false end
return redis.call('XADD', KEYS[1], '*', 'd', ARGV[1])
"""

# a conversion counts once per selection token (the same key the rest api's feedback uses) and, when it
# carries an id (eid), once per experiment and id; both checks and the append happen in one step. a token
# whose exposure was never recorded converts nothing (-1): a trial can't succeed before it was counted
_CONVERSION_ONCE = b"""
if redis.call('EXISTS', KEYS[4]) == 0 then return -1 end
if redis.call('EXISTS', KEYS[1]) == 1 or redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
redis.call('SET', KEYS[1], '1', 'EX', ARGV[1])
redis.call('SET', KEYS[2], '1', 'EX', ARGV[1])
redis.call('XADD', KEYS[3], '*', 'd', ARGV[2])
return 1
"""

# one redis command and its arguments, e.g. ("EVAL", script, 1, key, data): what a request queues for the
# next flush. str arguments are sent utf-8 encoded, ints in decimal, as redis-py would send them
Command = tuple[bytes | str | int, ...]


def pack(command: Command) -> bytes:
    """the command in redis's wire protocol (RESP), as redis-py would pack it. written by hand on the hot path:
    redis-py's pipeline packs each command in ~7.5 µs and wraps the batch in a pipeline object, a retry wrapper
    and per-command response callbacks. an exposure cost 46-66 µs of web cpu through it and costs 36-52 with
    this packer and one connection's send and reads (bench/events.py, bursts of 50 and of 8), 5-10% of a
    select's cpu. the commands queued here are few and fixed and need no response callbacks."""
    parts = [b"*%d\r\n" % len(command)]
    for arg in command:
        if isinstance(arg, str):
            arg = arg.encode()
        elif isinstance(arg, int):
            arg = b"%d" % arg
        elif not isinstance(arg, bytes):
            raise TypeError(f"a command argument must be bytes, str or int, not {type(arg).__name__}")
        parts.append(b"$%d\r\n%s\r\n" % (len(arg), arg))
    return b"".join(parts)


def dedup_ttl(expires_at: int, now: float | None = None) -> int:
    """how long a selection's de-duplication marks live: as long as its token, plus an hour of clock slack."""
    return max(60, expires_at - int(time.time() if now is None else now) + 3600)


# a site's last sighting (where and when its tag last ran) is noted at most this often per site and process. the
# tag sends its page's url with every decide, and noting each one (a json note and a redis write riding the
# flush) cost a decide 14 µs of its 65 µs of cpu (bench/lean_routes.py). a sighting is shown in the dashboard
# and copied to postgres by housekeeping every ten minutes: a few seconds of lag is invisible there
SITE_SEEN_EVERY_SECONDS = 5.0


class TooLateError(ConnectionError):
    """redis ran the write after its deadline: it appended nothing."""


class EventWriter:
    def __init__(self, redis: Redis, keys: RedisKeys, deadline_seconds: float | None = None) -> None:
        self.redis = redis
        self.keys = keys
        if deadline_seconds is None:
            # inside the socket timeout: whatever redis runs after it, the caller has stopped waiting for
            timeout = socket_timeout_of(redis)
            deadline_seconds = timeout * 0.8 if timeout else 3600.0
        self.deadline_seconds = deadline_seconds
        # a cluster's client sends each command to the node of its slot; one redis takes them on one connection
        self._cluster = is_cluster(redis)
        self._pending: list[tuple[Command, asyncio.Future[Any]]] = []
        self._flushing = False
        self._flusher: asyncio.Task[None] | None = None
        self.site_sightings = OncePer(SITE_SEEN_EVERY_SECONDS)
        self.flushes = 0
        self.events = 0

    async def exposure(self, event: Event) -> None:
        """appends the exposure, or raises: then it was not appended, nor will it be."""
        stream = self.keys.stream_for(event.experiment)
        data = encode(event)
        # the deadline counts from the flush that sends it, as the client's socket timeout does
        deadline_ms = int((time.time() + self.deadline_seconds) * 1000)
        result = await self._submit(("EVAL", _EXPOSURE_IN_TIME, 1, stream, data, deadline_ms))
        if result is None:
            raise TooLateError("the event store answered after the exposure's deadline")

    async def once(self, event: Event, nonce: str, ttl_seconds: int) -> bool:
        """appends the event unless an event of its kind with this nonce was seen; returns False for a repeat."""
        return bool(await self.enqueue(self.once_command(event, nonce, ttl_seconds)))

    def once_command(self, event: Event, nonce: str, ttl_seconds: int) -> Command:
        """`once` as a command (answers 1 appended, 0 a repeat), for `enqueue`."""
        if event.kind in ("x", "hx") and not event.marked:
            event = msgspec.structs.replace(event, marked=True)
        dedup = self.keys.dedup(event.experiment, f"{event.kind}:{nonce}")
        stream = self.keys.stream_for(event.experiment)
        # plain EVAL rather than EVALSHA: the script is tiny and survives a redis restart without NOSCRIPT
        return ("EVAL", _FEEDBACK_ONCE, 2, dedup, stream, max(60, ttl_seconds), encode(event))

    async def conversion(self, event: Event, nonce: str, eid: str, ttl_seconds: int) -> int:
        """a tag conversion: 1 appended, 0 a repeat (of its token, or of its eid in this experiment), -1 refused
        because the token's exposure was never recorded."""
        return int(await self.enqueue(self.conversion_command(event, nonce, eid, ttl_seconds)))

    def conversion_command(self, event: Event, nonce: str, eid: str, ttl_seconds: int) -> Command:
        """`conversion` as a command, for `enqueue`."""
        token_key = self.keys.dedup(event.experiment, f"{event.kind}:{nonce}")
        eid_key = self.keys.dedup(event.experiment, f"eid:{event.experiment}:{eid}") if eid else token_key
        exposure_key = self.keys.dedup(event.experiment, f"{'hx' if event.kind == 'hf' else 'x'}:{nonce}")
        stream = self.keys.stream_for(event.experiment)
        return (
            "EVAL",
            _CONVERSION_ONCE,
            4,
            token_key,
            eid_key,
            stream,
            exposure_key,
            max(60, ttl_seconds),
            encode(event),
        )

    def site_seen(self, public_key: str, url: str) -> None:
        """notes where and when a site's tag last ran, riding along with the next flush; at most once every
        SITE_SEEN_EVERY_SECONDS per site in this process, so a busy site's note is that recent."""
        if not self.site_sightings.due(public_key):
            return
        note = msgspec.json.encode({"url": url, "at": time.time()})
        self.fire_and_forget(("HSET", self.keys.site_seen, public_key, note))

    def fire_and_forget(self, command: Command) -> None:
        """a write nobody waits for (e.g. "tag last seen"); it rides along with the next flush. its reply is
        dropped without a task of its own: the flush resolves the future, and the callback retrieves a failure
        so a failed best-effort write is not reported as unhandled."""
        self.enqueue(command).add_done_callback(_drop_reply)

    async def _submit(self, command: Command) -> Any:
        return await self.enqueue(command)

    def enqueue(self, command: Command) -> asyncio.Future[Any]:
        """queues the command for the next flush and returns its reply to await: commands queued together
        (e.g. the exposure and the conversion of one tag batch) share one pipeline, in the order queued."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        self._pending.append((command, future))
        if not self._flushing:
            self._flushing = True
            self._flusher = loop.create_task(self._flush())
        return future

    async def _flush(self) -> None:
        try:
            # the first flush waits one loop turn so requests arriving together share it
            await asyncio.sleep(0)
            while self._pending:
                batch, self._pending = self._pending, []
                await self._flush_batch(batch)
        finally:
            self._flushing = False

    async def _flush_batch(self, batch: list[tuple[Command, asyncio.Future[Any]]]) -> None:
        self.flushes += 1
        self.events += len(batch)
        try:
            if self._cluster:
                async with self.redis.pipeline(transaction=False) as pipe:
                    for command, _ in batch:
                        pipe.execute_command(*command)
                    results = await pipe.execute(raise_on_error=False)
            else:
                results = await self._send([command for command, _ in batch])
            if len(results) != len(batch):
                raise RuntimeError(f"pipeline answered {len(results)} results for {len(batch)} commands")
        except Exception as exc:
            for _, future in batch:
                if not future.done():
                    future.set_exception(exc)
            return
        for (_, future), result in zip(batch, results, strict=True):
            if future.done():
                continue
            if isinstance(result, Exception):
                future.set_exception(result)
            else:
                future.set_result(result)

    async def _send(self, commands: list[Command]) -> list[Any]:
        """the commands in one write on one pooled connection, and their replies in order; an error reply is
        that command's answer (a ResponseError), as in a redis-py pipeline. a connection that failed or timed
        out mid-way is dropped, not pooled: a late reply must never be read as the answer of a later flush.

        one deadline covers the write and every reply, on the connection's own stream and parser: redis-py's
        send_packed_command runs a write in a task of its own under asyncio.wait_for, and read_response sets up
        an asyncio timeout per reply. those timers cost select 12% of its req/s (4,745 -> 5,271 in paired runs
        of one web process against another on the same stores, 10 pairs)."""
        pool = self.redis.connection_pool
        connection = await pool.get_connection()
        try:
            # redis-py's periodic ping (health_check_interval), which its own send does first
            await connection.check_health()
            try:
                async with asyncio.timeout(connection.socket_timeout):
                    connection._writer.write(b"".join(map(pack, commands)))
                    await connection._writer.drain()
                    return [await connection._parser.read_response() for _ in commands]
            except TimeoutError as exc:
                raise RedisTimeoutError(f"Timeout talking to redis: {len(commands)} commands") from exc
            except OSError as exc:
                raise RedisConnectionError(f"Error talking to redis: {exc.args}") from exc
        except BaseException:
            await connection.disconnect()
            raise
        finally:
            await pool.release(connection)


def _drop_reply(future: asyncio.Future[Any]) -> None:
    if not future.cancelled():
        future.exception()
