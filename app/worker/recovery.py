"""what the worker keeps in postgres so that a redis that lost everything (a flush, a fail-over to an empty
replica) loses no learning and counts no feedback twice.

- params: every batch writes each experiment's params to `experiment_params`, in the transaction that adds the
  batch to the hourly statistics and moves the checkpoint, so params and statistics never disagree;
- feedback marks: every counted feedback (and tag exposure) leaves (kind, nonce) in `feedback_marks` in that
  same transaction; one already marked is dropped, whatever redis remembers.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from uuid import UUID

import structlog
from redis.asyncio import Redis
from sqlalchemy import delete, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.db.models import Experiment, ExperimentParams, FeedbackMark, PolicySnapshot
from app.runtime.keys import RedisKeys
from app.runtime.records import Event, ExperimentConfig, ParamsRecord, encode
from app.worker.streams import Entry

log = structlog.get_logger(__name__)
FEEDBACK_KINDS = frozenset({"f", "hf"})
EXPOSURE_KINDS = frozenset({"x", "hx"})
EID_KIND = "eid"
PRUNE_EVERY_SECONDS = 600.0
SNAPSHOT_EVERY_SECONDS = 60.0
_last_prune = 0.0


def kept_once(event: Event) -> bool:
    """what the worker marks in postgres: feedbacks, and exposures the web appended once per token (the tag's)."""
    if not event.nonce:
        return False
    return event.kind in FEEDBACK_KINDS or (event.marked and event.kind in EXPOSURE_KINDS)


def feedbacks(entries: list[Entry]) -> list[Entry]:
    return [e for e in entries if e.event is not None and kept_once(e.event)]


def marks_of(event: Event) -> list[tuple[str, str]]:
    """what makes a feedback a repeat: its token (kind, nonce) and, for a tag conversion with an id, that id."""
    return [(event.kind, event.nonce)] + ([(EID_KIND, event.eid)] if event.eid else [])


async def marked(sessions: async_sessionmaker[AsyncSession], entries: list[Entry]) -> set[tuple[str, str]]:
    """the (kind, nonce) of these feedbacks' marks that were already counted."""
    nonces = sorted({nonce for e in feedbacks(entries) if e.event is not None for _, nonce in marks_of(e.event)})
    if not nonces:
        return set()
    async with sessions() as session:
        rows = await session.execute(
            select(FeedbackMark.kind, FeedbackMark.nonce).where(FeedbackMark.nonce.in_(nonces))
        )
        return {(kind, nonce) for kind, nonce in rows}


async def save(
    session: AsyncSession, fresh: list[Entry], records: dict[str, ParamsRecord], configs: dict[str, ExperimentConfig]
) -> None:
    """runs inside the statistics' transaction (app.worker.training.count), before the checkpoint moves."""
    global _last_prune
    if records:
        await session.execute(
            text(
                "insert into experiment_params (experiment_id, last_id, events, set_aside, state, updated_at)"
                " select :e, :l, :n, :a, :s, now() where exists (select 1 from experiments where id = :e)"
                " on conflict (experiment_id) do update set last_id = excluded.last_id, events = excluded.events,"
                " set_aside = excluded.set_aside, state = excluded.state, updated_at = now()"
            ),
            [
                {"e": UUID(eid), "l": r.last_id, "n": r.events, "a": r.set_aside, "s": r.state}
                for eid, r in records.items()
            ],
        )
    marks = {}
    for entry in feedbacks(fresh):
        ev = entry.event
        config = configs.get(ev.experiment) if ev is not None else None
        if ev is not None and config is not None:
            expires = datetime.fromtimestamp(ev.ts + config.attribution_window_seconds + 3600, tz=UTC)
            for kind, nonce in marks_of(ev):
                marks[(kind, nonce)] = {"k": kind, "n": nonce, "e": UUID(ev.experiment), "x": expires}
    if marks:
        await session.execute(
            text(
                "insert into feedback_marks (kind, nonce, experiment_id, expires_at)"
                " select :k, :n, :e, :x where exists (select 1 from experiments where id = :e)"
                " on conflict do nothing"
            ),
            list(marks.values()),
        )
    now = time.monotonic()
    if now - _last_prune > PRUNE_EVERY_SECONDS:
        _last_prune = now
        # a token past its expiry can't be replayed: its mark has done its job
        await session.execute(delete(FeedbackMark).where(FeedbackMark.expires_at < datetime.now(UTC)))


async def saved_params(sessions: async_sessionmaker[AsyncSession], experiment_id: str) -> ParamsRecord | None:
    async with sessions() as session:
        row = await session.get(ExperimentParams, UUID(experiment_id))
        if row is None:
            return None
        return ParamsRecord(last_id=row.last_id, state=row.state, events=row.events, set_aside=row.set_aside)


async def restore_params(redis: Redis, keys: RedisKeys, sessions: async_sessionmaker[AsyncSession]) -> int:
    """puts back every experiment's params redis lost, so web processes started since serve what was learnt."""
    async with sessions() as session:
        rows = (await session.execute(select(ExperimentParams))).scalars().all()
    restored = 0
    async with redis.pipeline(transaction=False) as pipe:
        for row in rows:
            record = ParamsRecord(
                last_id=row.last_id, state=row.state, events=row.events, set_aside=row.set_aside, updated_at=time.time()
            )
            pipe.set(keys.params(str(row.experiment_id)), encode(record), nx=True)
        results = await pipe.execute() if rows else []
    restored = sum(1 for r in results if r)
    if restored:
        log.warning("redis had lost policy params, restored them from postgres", experiments=restored)
    return restored


async def restored_params(sessions: async_sessionmaker[AsyncSession], experiment_id: str) -> ParamsRecord | None:
    """redis lost the params: those saved with the last counted batch, else an older periodic snapshot."""
    saved = await saved_params(sessions, experiment_id)
    if saved is not None:
        log.warning("policy params restored from postgres", experiment_id=experiment_id, last_id=saved.last_id)
        return saved
    snapshot = await _latest_snapshot(sessions, experiment_id)
    if snapshot is None:
        return None
    return ParamsRecord(last_id=snapshot.last_id, state=snapshot.state, events=snapshot.events)


async def _latest_snapshot(sessions: async_sessionmaker[AsyncSession], experiment_id: str) -> PolicySnapshot | None:
    async with sessions() as session:
        return await session.scalar(
            select(PolicySnapshot)
            .where(PolicySnapshot.experiment_id == UUID(experiment_id))
            .order_by(PolicySnapshot.created_at.desc())
            .limit(1)
        )


_last_snapshot: dict[str, float] = {}


async def maybe_snapshot(sessions: async_sessionmaker[AsyncSession], experiment_id: str, record: ParamsRecord) -> None:
    """a durable copy of the params every minute or so, so a redis that lost them resumes from here."""
    now = time.monotonic()
    if now - _last_snapshot.get(experiment_id, 0.0) < SNAPSHOT_EVERY_SECONDS:
        return
    _last_snapshot[experiment_id] = now
    async with sessions() as session, session.begin():
        exists = await session.scalar(select(Experiment.id).where(Experiment.id == UUID(experiment_id)))
        if exists:
            session.add(
                PolicySnapshot(
                    experiment_id=UUID(experiment_id), last_id=record.last_id, events=record.events, state=record.state
                )
            )
