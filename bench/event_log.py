"""the durable event log's write rate: ``uv run python bench/event_log.py [--database postgresql://...]``.

in a throwaway database (created and dropped here; default: TEST_DATABASE_URL's server, else an embedded
postgres), prints events/s for:
- append: app.worker.event_log.EventLog.append alone, one transaction (copy) per worker batch;
- count: the worker's whole postgres step for a batch (app.worker.counting.count: lock the checkpoint, add the
  hourly and minute statistics, append the log, move the checkpoint), with and without the log, so the log's
  share of the drain rate shows beside the absolute figure.
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
from urllib.parse import urlparse, urlunparse

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.lib.migrations import upgrade
from app.lib.snapshot import ArmConfig, Event, ExperimentConfig
from app.worker.counting import count
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


async def measure(url: str, batches: int, size: int, dim: int) -> None:
    engine = create_async_engine(url, pool_size=2)
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    experiment = await _experiment(sessions)
    configs = {experiment: _config(experiment)}
    log = EventLog()
    await log.housekeep(sessions)
    prepared = [batch(experiment, n, size, dim) for n in range(batches * 3 + 2)]
    events = [[e.event for e in entries if e.event is not None] for entries in prepared]

    async def append(number: int) -> None:
        async with sessions() as session, session.begin():
            await log.append(session, events[number])

    await append(0)  # warm up: copy's type introspection, the partition cache
    started = time.perf_counter()
    for n in range(1, batches + 1):
        await append(n)
    rate = batches * size / (time.perf_counter() - started)
    print(f"append only (copy, one transaction per {size}-event batch, context dim {dim}): {rate:,.0f} events/s")

    offset = batches + 1
    for label, with_log in (("count without the log", None), ("count with the log", log)):
        stream = f"bench-{label}-{secrets.token_hex(2)}"
        await count(sessions, stream, prepared[offset], configs, None, with_log)  # warm up
        started = time.perf_counter()
        for n in range(offset + 1, offset + 1 + batches // 2):
            await count(sessions, stream, prepared[n], configs, None, with_log)
        elapsed = time.perf_counter() - started
        offset += batches // 2 + 1
        print(f"{label:>22} (statistics + checkpoint per batch): {(batches // 2) * size / elapsed:,.0f} events/s")
    async with sessions() as session:
        rows = await session.scalar(text("select count(*) from event_log"))
    print(f"rows in the log: {rows:,}")
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
    finally:
        asyncio.run(_admin(admin, f'drop database if exists "{database}" with (force)'))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", default=os.environ.get("TEST_DATABASE_URL", ""), help="an admin url")
    parser.add_argument("--batches", type=int, default=60)
    parser.add_argument("--size", type=int, default=1000)
    parser.add_argument("--dim", type=int, default=0)
    args = parser.parse_args()
    if args.database:
        run(args.database, args)
        return
    from app.lib.embedded import embedded_stores

    with (
        tempfile.TemporaryDirectory(prefix="levers-bench-log-") as data_dir,
        embedded_stores(Path(data_dir), need_postgres=True, need_redis=False) as env,
    ):
        run(env["DATABASE_URL"], args)


if __name__ == "__main__":
    main()
