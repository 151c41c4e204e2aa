"""the worker's half of the durable event log (app.db.models.event_log): appending a batch's events, and the
monthly partitions they go into.

rows are appended with copy, in the transaction that adds the same events to the hourly statistics and moves
the shard's checkpoint (app.worker.counting.count): a batch redelivered after a crash is past the checkpoint
and skipped whole, so the log holds each event exactly once, as the statistics do.

partitions are created ahead of need, in their own short transaction, as a plain table then attached: attach
takes a share update exclusive lock on the parent, which neither waits for an export streaming from it nor
stalls the other shards' copies, where create ... partition of would take an access exclusive one.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID

import structlog
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.db.models.event_log import COLUMNS
from app.runtime.records import Event
from app.worker.streams import Entry

log = structlog.get_logger(__name__)

DEFAULT_RETENTION_DAYS = 400
# exposures stamped further ahead than this are not logged (see EventLog.ceiling)
FUTURE_DAYS = 2
# the bandit's exposures and rewards, and the same for traffic served outside it; guardrail conversions ("g")
# are another goal's metric, kept in their own hourly table
LOGGED_KINDS = frozenset({"x", "f", "hx", "hf"})
# one lock for everyone who creates or drops partitions, so two workers never race on the catalogue
_PARTITION_LOCK = 0x1E7E_0106
PREFIX = "event_log_p"
# rows per copy statement. a batch's 1,000 rows in one copy kept postgres (and the driver's encoding) on one
# statement for ~4 ms, and select's p99 at 8 connections paid for it while the worker ran beside the web process:
# 2.6 ms against 1.9 with no log, 2.15 in copies of 200 or of 50 (bench/hot_path.py's load, paired runs). neither
# the worker's nor postgres's scheduling priority, nor pacing the batches, made any difference; the statement's
# length did. the copies share the batch's transaction, so the log still gets the whole batch or none of it
COPY_CHUNK = 200


def month_of(at: datetime | date) -> date:
    return date(at.year, at.month, 1)


def next_month(month: date) -> date:
    return date(month.year + month.month // 12, month.month % 12 + 1, 1)


def partition_name(month: date) -> str:
    return f"{PREFIX}{month.year:04d}{month.month:02d}"


def month_of_partition(name: str) -> date | None:
    digits = name.removeprefix(PREFIX)
    if not name.startswith(PREFIX) or len(digits) != 6 or not digits.isdigit():
        return None
    return date(int(digits[:4]), int(digits[4:]), 1)


def _instant(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, tz=UTC)


def exposed_at(event: Event) -> float:
    """when the event's exposure happened: the token's issue time, else (older events) its own time."""
    return min(event.issued, event.ts) if event.issued > 0 else event.ts


@dataclass
class EventLog:
    """appends counted events to the log; remembers which monthly partitions exist, so a batch costs no
    catalogue query once its month is there."""

    retention_days: int = DEFAULT_RETENTION_DAYS
    known: set[date] = field(default_factory=set)
    copy_chunk: int = COPY_CHUNK

    def horizon(self, now: datetime | None = None) -> datetime:
        """events exposed before this are past the retention: not logged, and their partitions dropped."""
        return (now or datetime.now(UTC)) - timedelta(days=self.retention_days)

    def ceiling(self, now: datetime | None = None) -> datetime:
        """an exposure after this comes from a broken clock: not logged, rather than a partition per month to it."""
        return (now or datetime.now(UTC)) + timedelta(days=FUTURE_DAYS)

    def rows(self, events: Iterable[Event], now: datetime | None = None) -> list[tuple[Any, ...]]:
        horizon, ceiling = self.horizon(now).timestamp(), self.ceiling(now).timestamp()
        instant = datetime.fromtimestamp
        experiments: dict[str, UUID] = {}
        out = []
        for ev in events:
            if ev.kind not in LOGGED_KINDS:
                continue
            at = min(ev.issued, ev.ts) if ev.issued > 0 else ev.ts  # exposed_at(ev), inlined: this loop is hot
            if at < horizon or at > ceiling:
                continue
            experiment = experiments.get(ev.experiment)
            if experiment is None:
                experiment = experiments[ev.experiment] = UUID(ev.experiment)
            ts = instant(ev.ts, UTC)
            out.append(
                (
                    experiment,
                    ts if at == ev.ts else instant(at, UTC),
                    ts,
                    ev.kind,
                    ev.arm,
                    ev.propensity,
                    ev.reward,
                    ev.context,
                    ev.nonce[:64],
                )
            )
        return out

    async def prepare(self, sessions: async_sessionmaker[AsyncSession], entries: list[Entry]) -> None:
        """makes sure the partitions these entries' months go into exist, before the batch's transaction."""
        ceiling = self.ceiling().timestamp()
        times = [
            at
            for e in entries
            if e.event is not None and e.event.kind in LOGGED_KINDS and (at := exposed_at(e.event)) <= ceiling
        ]
        if not times:
            return
        # the months from the oldest exposure (within the retention) to the newest: a batch spans one or two
        first = month_of(max(_instant(min(times)), self.horizon()))
        last = month_of(_instant(max(times)))
        months = {first}
        while first < last:
            first = next_month(first)
            months.add(first)
        if months - self.known:
            await self.ensure(sessions, months)

    async def ensure(self, sessions: async_sessionmaker[AsyncSession], months: Iterable[date]) -> None:
        wanted = set(months) - self.known
        if not wanted:
            return
        async with sessions() as session, session.begin():
            await session.execute(text("select pg_advisory_xact_lock(:k)"), {"k": _PARTITION_LOCK})
            existing = await attached(session)
            for month in sorted(wanted - existing):
                name = partition_name(month)
                await session.execute(text(f"create table if not exists {name} (like event_log including defaults)"))
                await session.execute(
                    text(
                        f"alter table event_log attach partition {name}"
                        f" for values from ('{month.isoformat()}') to ('{next_month(month).isoformat()}')"
                    )
                )
                log.info("event log partition created", partition=name)
        self.known |= wanted

    async def append(self, session: AsyncSession, events: Iterable[Event]) -> int:
        """copies the events into the log inside the session's transaction; returns how many rows."""
        rows = self.rows(events)
        if not rows:
            return 0
        connection = await session.connection()
        raw = await connection.get_raw_connection()
        driver: Any = raw.driver_connection
        try:
            for at in range(0, len(rows), self.copy_chunk):
                await driver.copy_records_to_table(
                    "event_log", records=rows[at : at + self.copy_chunk], columns=COLUMNS
                )
        except Exception:
            # a partition this process believed in may be gone (dropped by a worker with a shorter retention):
            # the batch is retried, and its prepare asks the catalogue again
            self.known.clear()
            raise
        return len(rows)

    async def housekeep(self, sessions: async_sessionmaker[AsyncSession], now: datetime | None = None) -> list[str]:
        """creates this month's and next month's partitions, and drops those wholly past the retention.
        returns the names dropped."""
        at = now or datetime.now(UTC)
        this_month = month_of(at)
        self.known.clear()  # another worker may have dropped some: ask the catalogue once
        await self.ensure(sessions, {this_month, next_month(this_month)})
        horizon = self.horizon(at)
        dropped = []
        async with sessions() as session, session.begin():
            await session.execute(text("select pg_advisory_xact_lock(:k)"), {"k": _PARTITION_LOCK})
            # detach waits for exports reading the parent: give up for now rather than stall the copies behind it
            await session.execute(text("set local lock_timeout = '5s'"))
            for month in sorted(await attached(session)):
                if datetime.combine(next_month(month), datetime.min.time(), tzinfo=UTC) > horizon:
                    continue
                name = partition_name(month)
                try:
                    async with session.begin_nested():
                        await session.execute(text(f"alter table event_log detach partition {name}"))
                        await session.execute(text(f"drop table {name}"))
                except DBAPIError as exc:
                    log.warning("event log partition not dropped; next time", partition=name, error=str(exc))
                    continue
                dropped.append(name)
                self.known.discard(month)
        if dropped:
            log.info("event log partitions past the retention dropped", partitions=dropped)
        return dropped


async def attached(session: AsyncSession) -> set[date]:
    """the months whose partitions are attached to the log."""
    names = await session.scalars(
        text(
            "select c.relname from pg_inherits i join pg_class c on c.oid = i.inhrelid"
            " where i.inhparent = 'event_log'::regclass"
        )
    )
    return {month for month in (month_of_partition(name) for name in names) if month is not None}
