"""one training step for a batch of stream entries.

order of effects, each idempotent by stream position, so a crash at any point neither loses nor double-counts:
1. params (+ the last entry they include) to redis, per experiment, skipping entries at or before that position;
2. hourly statistics and the durable event log to postgres, in one transaction with the shard's checkpoint,
   skipping entries at or before the checkpoint;
3. xack (and trim what every store has).
"""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass

import msgspec
import numpy as np
import structlog
from redis.asyncio import Redis
from redis.exceptions import RedisError
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.lib.metrics import DUPLICATE_EVENTS, SET_ASIDE_EVENTS
from app.runtime.hotcache import initial_state
from app.runtime.keys import RedisKeys
from app.runtime.publish import Publisher
from app.runtime.records import Event, ExperimentConfig, ParamsRecord, encode, experiment_decoder, params_decoder
from app.runtime.redis import reply
from app.runtime.rewards import acceptable
from app.worker.counting import count
from app.worker.event_log import EventLog
from app.worker.recovery import kept_once, marked, marks_of, maybe_snapshot, restored_params, save
from app.worker.robust import robust_update
from app.worker.streams import Entry, entries_after

log = structlog.get_logger(__name__)
# exposures and feedbacks of traffic served outside the bandit (app.runtime.records.Event)
HOLDOUT_KINDS = frozenset({"hx", "hf"})


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


def _issue_hour(event: Event) -> int:
    """the hour (since the epoch) its selection was issued in: an exposure and its feedback carry the same."""
    return int((event.issued or event.ts) // 3600)


async def _contexts(
    redis: Redis, keys: RedisKeys, config: ExperimentConfig, entries: list[Entry]
) -> dict[str, list[float]]:
    """exposures remember their context by nonce; feedbacks look it up, since the token does not carry it.

    one hash per experiment and hour of issue, a field per exposure: a batch writes one HSET per hour it spans,
    where a key per exposure cost a SET (and its key's memory) each, about a third of the worker's and redis's
    cpu per contextual select (99-110 -> 62-79 µs under bench/hot_path.py's lin_ucb load). a hash lives the
    attribution window (and an hour of slack) past the end of its hour, as long as any of its contexts can still
    be asked for."""
    ttl = config.attribution_window_seconds + 3600
    found: dict[str, list[float]] = {}
    by_hour: defaultdict[int, dict[str, bytes]] = defaultdict(dict)
    for entry in entries:
        ev = entry.event
        if ev is not None and ev.kind == "x" and ev.context is not None and ev.nonce:
            found[ev.nonce] = ev.context
            by_hour[_issue_hour(ev)][ev.nonce] = encode(ev.context)
    if by_hour:
        async with redis.pipeline(transaction=False) as pipe:
            for hour, fields in by_hour.items():
                key = keys.contexts(config.id, hour)
                pipe.hset(key, mapping=fields)
                pipe.expireat(key, (hour + 1) * 3600 + ttl)
            await pipe.execute()
    wanted: defaultdict[int, list[str]] = defaultdict(list)
    for entry in entries:
        ev = entry.event
        if ev is not None and ev.kind == "f" and ev.nonce not in found:
            wanted[_issue_hour(ev)].append(ev.nonce)
    if not wanted:
        return found
    async with redis.pipeline(transaction=False) as pipe:
        for hour, nonces in wanted.items():
            pipe.hmget(keys.contexts(config.id, hour), nonces)
        replies = await pipe.execute()
    missing: list[str] = []
    for nonces, raws in zip(wanted.values(), replies, strict=True):
        for nonce, raw in zip(nonces, raws, strict=True):
            if raw:
                found[nonce] = [float(x) for x in msgspec.json.decode(raw)]
            else:
                missing.append(nonce)
    if missing:
        # contexts written a key per exposure, before the hashes: they last one attribution window after an upgrade
        raws = await redis.mget([keys.context(config.id, n) for n in missing])
        for nonce, raw in zip(missing, raws, strict=True):
            if raw:
                found[nonce] = [float(x) for x in msgspec.json.decode(raw)]
    return found


@dataclass
class Trained:
    learnt: int
    record: ParamsRecord | None  # the params as they stand after this batch (None: never trained yet)
    set_aside: list[str]  # ids of the entries the policy could not take


async def train(
    redis: Redis,
    keys: RedisKeys,
    sessions: async_sessionmaker[AsyncSession],
    config: ExperimentConfig,
    entries: list[Entry],
    refused: frozenset[str] = frozenset(),
) -> Trained:
    """applies one experiment's new entries to its params in one vectorised update. `refused` are ids of
    entries already judged unacceptable (app.runtime.rewards.acceptable): they are set aside, never learnt."""
    if config.status == "completed" or config.allocation == "fixed":
        # a declared winner stops learning; a fixed split never learns (its stats are still counted)
        return Trained(0, None, [])
    raw = await redis.get(keys.params(config.id))
    current = params_decoder.decode(raw) if raw is not None else await restored_params(sessions, config.id)
    policy, state = initial_state(config)
    if current is not None:
        state = policy.state_from_json(current.state)
    last_id = current.last_id if current is not None else None
    fresh = entries_after(entries, last_id)
    if not fresh:
        return Trained(0, current, [])
    conversion = config.reward_mode == "conversion"
    set_aside = [e.id for e in fresh if e.id in refused]
    # only the bandit's own traffic trains it: holdout kinds (hx, hf) never match here
    learn = [
        e
        for e in fresh
        if e.event is not None and e.id not in refused and (e.event.kind == "f" or (conversion and e.event.kind == "x"))
    ]
    events = [e.event for e in learn if e.event is not None]
    contexts = None
    if config.context_dim is not None:
        known = await _contexts(redis, keys, config, fresh)
        # a feedback whose exposure context expired can't train a contextual policy; it still counts in stats
        learn = [e for e, ev in zip(learn, events, strict=True) if ev.nonce in known]
        events = [e.event for e in learn if e.event is not None]
        contexts = np.array([known[ev.nonce] for ev in events], dtype=np.float64).reshape(
            len(events), config.context_dim
        )
    outcome = robust_update(policy, state, events, contexts)
    if outcome.set_aside:
        set_aside += [learn[i].id for i in outcome.set_aside]
        log.warning("events set aside: the policy could not take them", experiment_id=config.id, count=len(set_aside))
    if set_aside:
        SET_ASIDE_EVENTS.inc(len(set_aside))
    record = ParamsRecord(
        last_id=fresh[-1].id,
        state=policy.state_to_json(outcome.state),
        events=(current.events if current else 0) + outcome.learnt,
        updated_at=time.time(),
        set_aside=(current.set_aside if current else 0) + len(set_aside),
    )
    await redis.set(keys.params(config.id), encode(record))
    await maybe_snapshot(sessions, config.id, record)
    return Trained(outcome.learnt, record, set_aside)


async def process(
    redis: Redis,
    keys: RedisKeys,
    sessions: async_sessionmaker[AsyncSession],
    stream: str,
    entries: list[Entry],
    event_log: EventLog | None = None,
) -> BatchResult:
    experiment_ids = list({e.event.experiment for e in entries if e.event is not None})
    configs = await load_configs(redis, keys, experiment_ids)
    if len(configs) < len(experiment_ids) and not await redis.exists(keys.config_version):
        # redis lost the published configuration and no web process has rebuilt it yet: without it these
        # events would be dropped as if their experiments were deleted
        log.warning("redis lost the configuration, republishing from postgres")
        async with sessions() as session:
            await Publisher(redis, keys).everything(session)
        configs = await load_configs(redis, keys, experiment_ids)
    seen = await marked(sessions, entries)
    kept: list[Entry] = []  # what the statistics see: duplicates and refused events become empty entries
    refused: set[str] = set()
    by_experiment: dict[str, list[Entry]] = defaultdict(list)
    for entry in entries:
        ev = entry.event
        config = configs.get(ev.experiment) if ev is not None else None
        if ev is None or config is None:
            kept.append(entry)  # unreadable, or a deleted experiment: acknowledged and dropped
            continue
        if kept_once(ev):
            marks = marks_of(ev)
            if any(mark in seen for mark in marks):
                # counted before redis lost its de-duplication marks: a replay, dropped
                DUPLICATE_EVENTS.inc()
                kept.append(Entry(entry.id, None))
                continue
            seen.update(marks)
        if not acceptable(config, ev):
            refused.add(entry.id)
        by_experiment[ev.experiment].append(entry)
        kept.append(entry)
    trained = 0
    records: dict[str, ParamsRecord] = {}
    for experiment_id, group in by_experiment.items():
        try:
            result = await train(redis, keys, sessions, configs[experiment_id], group, frozenset(refused))
        except (RedisError, OSError, SQLAlchemyError):
            raise  # the store is at fault: the batch stays pending and is retried
        except Exception:
            # not the events (robust_update sets those aside) but the params themselves: counted, not learnt
            log.exception("training failed", experiment_id=experiment_id)
            continue
        trained += result.learnt
        refused.update(result.set_aside)
        if result.record is not None:
            records[experiment_id] = result.record
    kept = [Entry(e.id, None) if e.id in refused else e for e in kept]

    async def also(session: AsyncSession, fresh: list[Entry]) -> None:
        await save(session, fresh, records, configs)

    counted = await count(sessions, stream, kept, configs, also, event_log)
    return BatchResult(entries=len(entries), trained=trained, counted=counted)
