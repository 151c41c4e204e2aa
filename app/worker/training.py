"""one training step for a batch of stream entries.

order of effects, each idempotent by stream position, so a crash at any point neither loses nor double-counts:
1. params (+ the last entry they include) to redis, per experiment, skipping entries at or before that position;
2. hourly statistics to postgres, in one transaction with the shard's checkpoint, skipping entries at or
   before the checkpoint;
3. xack (and trim what every store has).
"""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass
from uuid import UUID

import msgspec
import numpy as np
import structlog
from redis.asyncio import Redis
from redis.exceptions import RedisError
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.db.models import Experiment, PolicySnapshot
from app.lib.hotcache import initial_state
from app.lib.keys import RedisKeys
from app.lib.redis import reply
from app.lib.snapshot import ExperimentConfig, ParamsRecord, encode, experiment_decoder, params_decoder
from app.worker.counting import count
from app.worker.streams import Entry, id_after

log = structlog.get_logger(__name__)
SNAPSHOT_EVERY_SECONDS = 60.0


@dataclass
class BatchResult:
    entries: int
    trained: int
    counted: int


async def load_configs(redis: Redis, keys: RedisKeys, experiment_ids: list[str]) -> dict[str, ExperimentConfig]:
    if not experiment_ids:
        return {}
    raws: list[bytes | None] = await reply(redis.hmget(keys.experiments, experiment_ids))
    return {eid: experiment_decoder.decode(raw) for eid, raw in zip(experiment_ids, raws, strict=True) if raw}


async def _contexts(
    redis: Redis, keys: RedisKeys, config: ExperimentConfig, entries: list[Entry]
) -> dict[str, list[float]]:
    """exposures remember their context by nonce; feedbacks look it up, since the token does not carry it."""
    ttl = config.attribution_window_seconds + 3600
    found: dict[str, list[float]] = {}
    async with redis.pipeline(transaction=False) as pipe:
        for entry in entries:
            ev = entry.event
            if ev is not None and ev.kind == "x" and ev.context is not None and ev.nonce:
                found[ev.nonce] = ev.context
                pipe.set(keys.prefix + "ctx:" + ev.nonce, encode(ev.context), ex=ttl)
        await pipe.execute()
    missing = [e.event.nonce for e in entries if e.event and e.event.kind == "f" and e.event.nonce not in found]
    if missing:
        raws = await redis.mget([keys.prefix + "ctx:" + n for n in missing])
        for nonce, raw in zip(missing, raws, strict=True):
            if raw:
                found[nonce] = [float(x) for x in msgspec.json.decode(raw)]
    return found


async def train(
    redis: Redis,
    keys: RedisKeys,
    sessions: async_sessionmaker[AsyncSession],
    config: ExperimentConfig,
    entries: list[Entry],
) -> int:
    """applies one experiment's new entries to its params in one vectorised update; returns how many trained."""
    if config.status == "completed" or config.allocation == "fixed":
        return 0  # a declared winner stops learning; a fixed split never learns (its stats are still counted)
    raw = await redis.get(keys.params(config.id))
    policy, state = initial_state(config)
    last_id: str | None = None
    events_so_far = 0
    if raw is not None:
        record = params_decoder.decode(raw)
        state, last_id, events_so_far = policy.state_from_json(record.state), record.last_id, record.events
    else:
        restored = await _latest_snapshot(sessions, config.id)
        if restored is not None:
            state, last_id, events_so_far = policy.state_from_json(restored.state), restored.last_id, restored.events
    conversion = config.reward_mode == "conversion"
    fresh = [e for e in entries if id_after(e.id, last_id)]
    if not fresh:
        return 0
    # only the bandit's own traffic trains it: holdout kinds (hx, hf) never match here
    learn = [
        e.event for e in fresh if e.event is not None and (e.event.kind == "f" or (conversion and e.event.kind == "x"))
    ]
    contexts = None
    if config.context_dim is not None:
        known = await _contexts(redis, keys, config, fresh)
        # a feedback whose exposure context expired can't train a contextual policy; it still counts in stats
        learn = [e for e in learn if e.nonce in known]
        contexts = np.array([known[e.nonce] for e in learn], dtype=np.float64).reshape(len(learn), config.context_dim)
    if learn:
        state = policy.update(
            state,
            np.array([e.arm for e in learn], dtype=np.int64),
            np.array([e.reward for e in learn], dtype=np.float64),
            contexts=contexts,
            propensities=np.array([e.propensity for e in learn], dtype=np.float64),
            trials=np.array([e.trials for e in learn], dtype=np.int64),
        )
    record = ParamsRecord(
        last_id=fresh[-1].id,
        state=policy.state_to_json(state),
        events=events_so_far + len(learn),
        updated_at=time.time(),
    )
    await redis.set(keys.params(config.id), encode(record))
    await _maybe_snapshot(sessions, config.id, record)
    return len(learn)


async def _latest_snapshot(sessions: async_sessionmaker[AsyncSession], experiment_id: str) -> PolicySnapshot | None:
    async with sessions() as session:
        return await session.scalar(
            select(PolicySnapshot)
            .where(PolicySnapshot.experiment_id == UUID(experiment_id))
            .order_by(PolicySnapshot.created_at.desc())
            .limit(1)
        )


_last_snapshot: dict[str, float] = {}


async def _maybe_snapshot(sessions: async_sessionmaker[AsyncSession], experiment_id: str, record: ParamsRecord) -> None:
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


async def process(
    redis: Redis,
    keys: RedisKeys,
    sessions: async_sessionmaker[AsyncSession],
    stream: str,
    entries: list[Entry],
) -> BatchResult:
    by_experiment: dict[str, list[Entry]] = defaultdict(list)
    for entry in entries:
        if entry.event is not None:
            by_experiment[entry.event.experiment].append(entry)
    configs = await load_configs(redis, keys, list(by_experiment))
    trained = 0
    for experiment_id, group in by_experiment.items():
        config = configs.get(experiment_id)
        if config is None:
            continue  # deleted experiment: its events are acknowledged and dropped
        try:
            trained += await train(redis, keys, sessions, config, group)
        except (RedisError, OSError, SQLAlchemyError):
            raise  # the store is at fault: the batch stays pending and is retried
        except Exception:
            # a policy that can't take this batch must not block the shard; its statistics are still counted
            log.exception("training failed", experiment_id=experiment_id)
    counted = await count(sessions, stream, entries, configs)
    return BatchResult(entries=len(entries), trained=trained, counted=counted)
