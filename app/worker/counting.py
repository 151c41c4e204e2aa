"""the statistics half of a training step: stream entries summed into per-arm counters in postgres.

every event is counted in the period of its exposure (the selection token's issue time), not the period it
arrived in: a conversion two hours after its exposure lands in the exposure's hour, so each period's rate is
its own visitors' rate and the over-time charts end where the totals are.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from sqlalchemy import Table, func, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.db.models import (
    ArmStatsHourly,
    ArmStatsMinute,
    Experiment,
    GuardrailStatsHourly,
    HoldoutStatsHourly,
    SegmentStatsDaily,
    StreamCheckpoint,
)
from app.runtime.records import Event, ExperimentConfig
from app.worker import segments
from app.worker.event_log import EventLog, exposed_at
from app.worker.streams import Entry, entries_after

# exposures and feedbacks of traffic served outside the bandit (app.runtime.records.Event)
HOLDOUT_KINDS = frozenset({"hx", "hf"})
EXPOSURE_KINDS = frozenset({"x", "hx"})
GUARDRAIL_KIND = "g"
COUNTERS = ("exposures", "feedbacks", "reward_sum", "reward_sum_sq")

Row = list[float]


def _table(model: type[Any]) -> Table:
    table: Table = model.__table__
    return table


def period_start(ts: float, seconds: int) -> datetime:
    return _period(int(ts // seconds), seconds)


@functools.lru_cache(maxsize=4096)
def _period(index: int, seconds: int) -> datetime:
    # a batch's events fall in a handful of hours, minutes and days: each one's datetime is built once, not three
    # per event (they were 6% of the worker's cpu under bench/hot_path.py's select load)
    return datetime.fromtimestamp(index * seconds, tz=UTC)


def _new_row() -> Row:
    return [0.0, 0.0, 0.0, 0.0]


def _bump(row: Row, event: Event) -> None:
    if event.kind in EXPOSURE_KINDS:
        row[0] += 1
    else:
        row[1] += 1
        row[2] += event.reward
        row[3] += event.reward * event.reward


@dataclass
class Tally:
    """a batch's counters per (experiment, arm, period), and per holdout reason, before they are added."""

    hourly: defaultdict[tuple[str, int, datetime], Row] = field(default_factory=lambda: defaultdict(_new_row))
    minutes: defaultdict[tuple[str, int, datetime], Row] = field(default_factory=lambda: defaultdict(_new_row))
    holdout: defaultdict[tuple[str, int, str, datetime], Row] = field(default_factory=lambda: defaultdict(_new_row))
    guardrails: defaultdict[tuple[str, int, str, datetime], Row] = field(default_factory=lambda: defaultdict(_new_row))
    # (experiment, arm, day, segment): the arms' counters per segment as the events carry it, before the cap
    segments: defaultdict[segments.SegmentKey, Row] = field(default_factory=lambda: defaultdict(_new_row))
    counted: int = 0

    def add(self, event: Event) -> None:
        at = exposed_at(event)
        hour = period_start(at, 3600)
        if event.kind == GUARDRAIL_KIND:
            # a conversion on a guardrail goal: its visitors are the arm's exposures, counted with the arm
            _bump(self.guardrails[(event.experiment, event.arm, event.label[:200], hour)], event)
        elif event.kind in HOLDOUT_KINDS:
            # served outside the bandit: counted apart, never in the arms' results
            _bump(self.holdout[(event.experiment, event.arm, event.label[:80] or "default", hour)], event)
        else:
            _bump(self.hourly[(event.experiment, event.arm, hour)], event)
            _bump(self.minutes[(event.experiment, event.arm, period_start(at, 60))], event)
            # one counter per whole segment here; split into its dimensions once per batch (segments.expand)
            _bump(self.segments[(event.experiment, event.arm, period_start(at, 86400), event.segment)], event)
        self.counted += 1


def counted_events(entries: list[Entry], live: set[str], configs: dict[str, ExperimentConfig]) -> list[Event]:
    """the events of experiments that still exist and still collect (a completed one stops counting)."""
    return [
        e.event
        for e in entries
        if e.event is not None and e.event.experiment in live and configs[e.event.experiment].status != "completed"
    ]


def tally(entries: list[Entry], live: set[str], configs: dict[str, ExperimentConfig]) -> Tally:
    """sums the counted events (counted_events)."""
    result = Tally()
    for event in counted_events(entries, live, configs):
        result.add(event)
    return result


def _counter_rows(totals: dict[tuple[Any, ...], Row], keys: tuple[str, ...]) -> list[dict[str, Any]]:
    rows = []
    for key, (exposures, feedbacks, reward_sum, reward_sum_sq) in totals.items():
        row: dict[str, Any] = dict(zip(keys, key, strict=True))
        row["experiment_id"] = UUID(row["experiment_id"])
        row.update(
            exposures=int(exposures), feedbacks=int(feedbacks), reward_sum=reward_sum, reward_sum_sq=reward_sum_sq
        )
        rows.append(row)
    return rows


@functools.cache
def _upsert(table: Table) -> Any:
    # built once per table: built per batch (five tables a batch: its excluded columns, its cache key each time),
    # add_counters was 12% of the worker's cpu under select load, and is 3.4% now (py-spy)
    statement = insert(table)
    updates: dict[str, Any] = {name: table.c[name] + statement.excluded[name] for name in COUNTERS}
    if "updated_at" in table.c:
        updates["updated_at"] = func.now()
    keys = [column.name for column in table.primary_key.columns]
    return statement.on_conflict_do_update(index_elements=keys, set_=updates)


async def add_counters(session: AsyncSession, table: Table, rows: list[dict[str, Any]]) -> None:
    """adds each row's counters to the stored row of the same key (the table's primary key), creating it if new."""
    if not rows:
        return
    await session.execute(_upsert(table), rows)


async def _lock_checkpoint(session: AsyncSession, stream: str) -> str | None:
    await session.execute(
        text("insert into stream_checkpoints (stream, last_id) values (:s, '0-0') on conflict do nothing"),
        {"s": stream},
    )
    return await session.scalar(
        select(StreamCheckpoint.last_id).where(StreamCheckpoint.stream == stream).with_for_update()
    )


async def _live_experiments(
    session: AsyncSession, entries: list[Entry], configs: dict[str, ExperimentConfig]
) -> set[str]:
    """the batch's experiments that still exist, share-locked so a delete waits for this transaction."""
    ids = {e.event.experiment for e in entries if e.event is not None and e.event.experiment in configs}
    if not ids:
        return set()
    found = await session.scalars(
        select(Experiment.id).where(Experiment.id.in_([UUID(i) for i in ids])).with_for_update(read=True)
    )
    return {str(x) for x in found}


async def count(
    sessions: async_sessionmaker[AsyncSession],
    stream: str,
    entries: list[Entry],
    configs: dict[str, ExperimentConfig],
    also: Callable[[AsyncSession, list[Entry]], Awaitable[None]] | None = None,
    event_log: EventLog | None = None,
) -> int:
    """adds the entries after the shard's checkpoint to the statistics, with the checkpoint, atomically; ``also``
    writes more of the same entries in that transaction (the params and feedback marks, app.worker.recovery),
    and ``event_log`` appends the counted events to the durable log (app.worker.event_log), in it too."""
    if event_log is not None:
        await event_log.prepare(sessions, entries)
    async with sessions() as session, session.begin():
        checkpoint = await _lock_checkpoint(session, stream)
        fresh = entries_after(entries, checkpoint)
        if not fresh:
            return 0
        events = counted_events(fresh, await _live_experiments(session, fresh, configs), configs)
        totals = Tally()
        for event in events:
            totals.add(event)
        if event_log is not None:
            await event_log.append(session, events)
        arm_keys = ("experiment_id", "arm_index", "hour")
        await add_counters(session, _table(ArmStatsHourly), _counter_rows(totals.hourly, arm_keys))
        await add_counters(
            session, _table(ArmStatsMinute), _counter_rows(totals.minutes, ("experiment_id", "arm_index", "minute"))
        )
        await add_counters(
            session,
            _table(HoldoutStatsHourly),
            _counter_rows(totals.holdout, ("experiment_id", "arm_index", "reason", "hour")),
        )
        await add_counters(
            session,
            _table(GuardrailStatsHourly),
            _counter_rows(totals.guardrails, ("experiment_id", "arm_index", "goal", "hour")),
        )
        bounded = await segments.bound(session, segments.expand(totals.segments))
        await add_counters(
            session,
            _table(SegmentStatsDaily),
            _counter_rows(bounded, ("experiment_id", "dimension", "value", "arm_index", "day")),
        )
        if also is not None:
            await also(session, fresh)
        await session.execute(
            text("update stream_checkpoints set last_id = :id where stream = :s"), {"id": fresh[-1].id, "s": stream}
        )
        return totals.counted
