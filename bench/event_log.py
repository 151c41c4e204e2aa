"""the durable event log's write rate: ``uv run python bench/event_log.py [--database postgresql://...]``.

in a throwaway database and redis prefix (default: TEST_DATABASE_URL's and TEST_REDIS_URL's servers, else
embedded ones), prints events/s (wall) and cpu µs per event (this process and its postgres backend) for:
- append: app.worker.event_log.EventLog.append alone, one transaction (copy) per worker batch;
- the worker's whole postgres step for a batch (app.worker.counting.count: lock the checkpoint, add the hourly
  and minute statistics, append the log, move the checkpoint), with and without the log, so the log's share of
  the drain rate shows beside the absolute figure;
- the whole drain (app.worker.drain.Drainer reading a stream of
  --drain-events entries under a throwaway prefix, training beta_ts, counting, logging, acknowledging), with and
  without the log.
batches look like live traffic: 1000 events (the worker's default batch), one experiment, three arms, a reward
for one exposure in ten, contexts of --dim numbers (0: a non-contextual experiment).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlparse, urlunparse

from redis.asyncio import Redis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.lib.logging import configure_logging
from app.lib.migrations import upgrade
from app.runtime.keys import RedisKeys
from app.runtime.records import ArmConfig, Event, ExperimentConfig, encode
from app.settings import Settings
from app.worker.counting import count
from app.worker.drain import Drainer
from app.worker.event_log import EventLog
from app.worker.streams import Entry


def _url(admin: str, database: str) -> str:
    parsed = urlparse(admin.replace("postgresql+asyncpg://", "postgresql://").replace("postgres://", "postgresql://"))
    return urlunparse(parsed._replace(scheme="postgresql+asyncpg", path=f"/{database}"))


def batch(experiment: str, number: int, size: int, dim: int) -> list[Entry]:
    now = time.time()
    entries = []
    for i in range(size):
        seq = number * size + i
        context = [float(j + seq % 7) for j in range(dim)] if dim else None
        nonce = f"{seq:016x}"
        if i % 10 == 9:
            event = Event(
                kind="f", experiment=experiment, arm=seq % 3, reward=1.0, trials=0, ts=now, nonce=nonce, issued=now - 5
            )
        else:
            event = Event(
                kind="x",
                experiment=experiment,
                arm=seq % 3,
                reward=0.0,
                trials=1,
                ts=now,
                propensity=0.2 + (seq % 5) / 10,
                context=context,
                nonce=nonce,
                issued=now,
            )
        entries.append(Entry(f"{int(now * 1000)}-{seq}", event))
    return entries


async def _experiment(sessions: async_sessionmaker[AsyncSession]) -> str:
    org, pool, experiment = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    async with sessions() as session, session.begin():
        await session.execute(
            text("insert into organizations (id, name, created_at, updated_at) values (:o, 'bench', now(), now())"),
            {"o": org},
        )
        await session.execute(
            text(
                "insert into pools (id, organization_id, name, created_at, updated_at)"
                " values (:p, :o, 'bench', now(), now())"
            ),
            {"p": pool, "o": org},
        )
        await session.execute(
            text(
                "insert into experiments (id, organization_id, pool_id, key, name, protocol, protocol_params,"
                " reward_mode, status, traffic_percent, control_index, goal, attribution_window_seconds, seed,"
                " created_at, updated_at)"
                " values (:e, :o, :p, 'bench', 'bench', 'beta_ts', '{}', 'conversion', 'running', 100, 0, '{}',"
                " 86400, 1, now(), now())"
            ),
            {"e": experiment, "o": org, "p": pool},
        )
    return str(experiment)


def _config(experiment: str) -> ExperimentConfig:
    return ExperimentConfig(
        id=experiment,
        organization_id="",
        key="bench",
        name="bench",
        site_id=None,
        protocol="beta_ts",
        protocol_params={},
        context_dim=None,
        reward_mode="conversion",
        status="running",
        traffic_percent=100.0,
        control_index=0,
        winner_index=None,
        seed=1,
        attribution_window_seconds=86400,
        arms=[ArmConfig(index=i, name=f"arm-{i}") for i in range(3)],
    )


def _cpu_seconds(pid: int) -> float:
    """user + system cpu of a process on this machine (a postgres backend), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _local(pid: int) -> bool:
    return os.path.exists(f"/proc/{pid}/stat")


class Meter:
    """wall time beside cpu time (this process and its postgres backend): on a shared, loaded box the cpu per
    event is the figure that holds still, and 1e6 / µs is the rate one core of each would sustain."""

    def __init__(self, backend: int | None) -> None:
        self.backend = backend

    def __enter__(self) -> Meter:
        self.wall, self.cpu = time.perf_counter(), time.process_time()
        self.server = _cpu_seconds(self.backend) if self.backend else 0.0
        return self

    def __exit__(self, *_: object) -> None:
        self.wall = time.perf_counter() - self.wall
        self.cpu = time.process_time() - self.cpu
        self.server = (_cpu_seconds(self.backend) if self.backend else 0.0) - self.server

    def line(self, label: str, events: int) -> str:
        client, server = self.cpu / events * 1e6, self.server / events * 1e6
        alone = 1e6 / max(client, server) if self.backend else float("nan")
        return (
            f"{label:<44} {events / self.wall:>9,.0f} events/s wall | cpu µs/event: python {client:5.1f}, "
            f"postgres {server:5.1f} | one core each: {alone:,.0f} events/s"
        )


async def measure(url: str, batches: int, size: int, dim: int) -> None:
    # one connection, so its backend's cpu is the whole server-side cost
    engine = create_async_engine(url, pool_size=1, max_overflow=0)
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    experiment = await _experiment(sessions)
    configs = {experiment: _config(experiment)}
    log = EventLog()
    await log.housekeep(sessions)
    async with sessions() as session:
        pid = int(await session.scalar(text("select pg_backend_pid()")) or 0)
    backend = pid if _local(pid) else None  # a remote server: wall time only
    prepared = [batch(experiment, n, size, dim) for n in range(batches * 3 + 2)]
    events = [[e.event for e in entries if e.event is not None] for entries in prepared]

    async def append(number: int) -> None:
        async with sessions() as session, session.begin():
            await log.append(session, events[number])

    print(f"batches of {size} events (one in ten a reward), context dim {dim}:")
    await append(0)  # warm up: copy's type introspection, the partition cache
    with Meter(backend) as meter:
        for n in range(1, batches + 1):
            await append(n)
    print(meter.line("append to the log alone (copy)", batches * size))

    offset = batches + 1
    for label, with_log in (
        ("worker's postgres step without the log", None),
        ("worker's postgres step with the log", log),
    ):
        stream = f"bench-{secrets.token_hex(4)}"
        await count(sessions, stream, prepared[offset], configs, None, with_log)  # warm up
        with Meter(backend) as meter:
            for n in range(offset + 1, offset + 1 + batches // 2):
                await count(sessions, stream, prepared[n], configs, None, with_log)
        offset += batches // 2 + 1
        print(meter.line(label, (batches // 2) * size))
    async with sessions() as session:
        rows = int(await session.scalar(text("select count(*) from event_log")) or 0)
        size_bytes = int(
            await session.scalar(
                text(
                    "select sum(pg_total_relation_size(inhrelid)) from pg_inherits"
                    " where inhparent = 'event_log'::regclass"
                )
            )
            or 0
        )
    print(f"{rows:,} rows take {size_bytes / max(rows, 1):.0f} bytes each on disk, index included")
    await engine.dispose()


class NoLog(EventLog):
    """the drain as it was before the event log, for the comparison."""

    async def prepare(self, sessions: async_sessionmaker[AsyncSession], entries: list[Entry]) -> None:
        return None

    async def append(self, session: AsyncSession, events: Any) -> int:
        return 0


async def drain_rate(url: str, redis_url: str, events: int, dim: int) -> None:
    """the whole worker (app.worker.drain.Drainer: read the stream, train, count, log, acknowledge) over a stream
    of ``events`` entries, with and without the log."""
    engine = create_async_engine(url, pool_size=2)
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    redis = Redis.from_url(redis_url)
    try:
        for label, log in (("whole drain without the log", NoLog()), ("whole drain with the log", EventLog())):
            keys = RedisKeys(f"bench-log-{secrets.token_hex(4)}:", shards=1)
            experiment = await _experiment(sessions)
            await redis.hset(keys.experiments, experiment, encode(_config(experiment)))
            await redis.set(keys.config_version, 1)
            stream = keys.stream_for(experiment)
            entries = [e for n in range(events // 1000) for e in batch(experiment, n, 1000, dim)]
            for start in range(0, len(entries), 5000):
                async with redis.pipeline(transaction=False) as pipe:
                    for entry in entries[start : start + 5000]:
                        pipe.xadd(stream, {"d": encode(entry.event)})
                    await pipe.execute()
            drainer = Drainer(redis, keys, sessions, batch_size=1000, budget_seconds=60.0, event_log=log)
            started, cpu = time.perf_counter(), time.process_time()
            done = 0
            while (n := await drainer.tick()) > 0:
                done += n
            wall, cpu = time.perf_counter() - started, time.process_time() - cpu
            print(
                f"{label:<44} {done / wall:>9,.0f} events/s wall | cpu µs/event: worker {cpu / done * 1e6:5.1f}"
                f" ({done:,} events)"
            )
            await drainer.release()
            await redis.delete(stream, *[k async for k in redis.scan_iter(match=f"{keys.prefix}*")])
    finally:
        await redis.aclose()
        await engine.dispose()


async def _admin(admin: str, sql: str) -> None:
    engine = create_async_engine(
        _url(admin, urlparse(admin).path.lstrip("/") or "postgres"), isolation_level="AUTOCOMMIT"
    )
    async with engine.connect() as connection:
        await connection.execute(text(sql))
    await engine.dispose()


def run(admin: str, args: argparse.Namespace) -> None:
    database = f"levers_bench_{secrets.token_hex(4)}"
    asyncio.run(_admin(admin, f'create database "{database}"'))
    try:
        upgrade(_url(admin, database))
        asyncio.run(measure(_url(admin, database), args.batches, args.size, args.dim))
        if args.redis:
            asyncio.run(drain_rate(_url(admin, database), args.redis, args.drain_events, args.dim))
    finally:
        asyncio.run(_admin(admin, f'drop database if exists "{database}" with (force)'))


def main() -> None:
    # the drain logs each event at debug level: the bench measures the work, not the logging
    configure_logging(Settings(log_level="WARNING"))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", default=os.environ.get("TEST_DATABASE_URL", ""), help="an admin url")
    parser.add_argument("--batches", type=int, default=60)
    parser.add_argument("--size", type=int, default=1000)
    parser.add_argument("--dim", type=int, default=0)
    parser.add_argument(
        "--redis", default=os.environ.get("TEST_REDIS_URL", ""), help="for the whole drain (default: embedded)"
    )
    parser.add_argument("--drain-events", type=int, default=50_000)
    args = parser.parse_args()
    if args.database and args.redis:
        run(args.database, args)
        return
    from app.lib.embedded import embedded_stores

    # whichever store was not given runs embedded, so `make bench` prints every figure on any machine
    with (
        tempfile.TemporaryDirectory(prefix="levers-bench-log-") as data_dir,
        embedded_stores(Path(data_dir), need_postgres=not args.database, need_redis=not args.redis) as env,
    ):
        args.redis = args.redis or env["REDIS_URL"]
        run(args.database or env["DATABASE_URL"], args)


if __name__ == "__main__":
    main()
