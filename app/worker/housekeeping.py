"""the worker's periodic tidying: what would otherwise grow without bound in postgres.

minute statistics feed the first hours' charts only, so they are kept two days. the event log keeps
EVENT_LOG_RETENTION_DAYS (400 by default): whole months past it are dropped, and the next month's partition is
created ahead. policy snapshots are written
about once a minute per training experiment (training._maybe_snapshot) and only
the newest is ever read (to resume when redis lost the params), so each experiment keeps its latest few.

the hot path notes in redis when a site's tag last ran and when an api key was last used; housekeeping copies
those sightings into postgres, so they outlive a redis that loses its data and pages can read them without
writing.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
import structlog
from redis.asyncio import Redis
from redis.exceptions import RedisError
from sqlalchemy import CursorResult, and_, bindparam, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.db.models import ApiKey, ArmStatsMinute, PolicySnapshot, Site
from app.domain.sites.services import seen_decoder
from app.runtime.keys import RedisKeys
from app.runtime.redis import reply
from app.worker.event_log import EventLog

log = structlog.get_logger(__name__)

# a day of hourly restore points is far more than a resume needs; older ones are history nobody reads
KEEP_SNAPSHOTS = 24
# the charts read minute rows only while an experiment is under six hours old (app.domain.results.periods);
# two days leave room for late conversions, which are counted in their exposure's minute
MINUTE_ROWS_KEPT = timedelta(days=2)


async def prune_minutes(sessions: async_sessionmaker[AsyncSession], now: datetime | None = None) -> int:
    cutoff = (now or datetime.now(UTC)) - MINUTE_ROWS_KEPT
    async with sessions() as session, session.begin():
        result = await session.execute(delete(ArmStatsMinute).where(ArmStatsMinute.minute < cutoff))
    removed = result.rowcount if isinstance(result, CursorResult) else 0
    if removed:
        log.info("minute statistics pruned", rows=removed)
    return removed


async def prune_snapshots(sessions: async_sessionmaker[AsyncSession], keep: int = KEEP_SNAPSHOTS) -> int:
    """deletes every experiment's policy snapshots but its `keep` newest; returns how many went."""
    if keep < 1:
        raise ValueError("keep at least one snapshot per experiment: it is what a resume starts from")
    rank = (
        func.row_number()
        .over(
            partition_by=PolicySnapshot.experiment_id,
            order_by=(PolicySnapshot.created_at.desc(), PolicySnapshot.id.desc()),
        )
        .label("rank")
    )
    ranked = select(PolicySnapshot.id, rank).subquery()
    stale = select(ranked.c.id).where(ranked.c.rank > keep)
    async with sessions() as session, session.begin():
        result = await session.execute(
            delete(PolicySnapshot).where(PolicySnapshot.id.in_(stale)).execution_options(synchronize_session=False)
        )
    # a delete's result is a cursor result, which counts the rows it removed
    return result.rowcount if isinstance(result, CursorResult) else 0


_site_seen = (
    update(Site)
    .where(
        and_(
            Site.public_key == bindparam("key"),
            or_(Site.last_seen_at.is_(None), Site.last_seen_at < bindparam("at")),
        )
    )
    .values(last_seen_url=bindparam("url"), last_seen_at=bindparam("at"))
)
_key_used = (
    update(ApiKey)
    .where(
        and_(
            ApiKey.id == bindparam("key_id"), or_(ApiKey.last_used_at.is_(None), ApiKey.last_used_at < bindparam("at"))
        )
    )
    .values(last_used_at=bindparam("at"))
)


async def persist_sightings(redis: Redis, keys: RedisKeys, sessions: async_sessionmaker[AsyncSession]) -> int:
    """copies the sites' last sighting and the api keys' last use from redis into postgres; returns how many
    notes were read. a row only ever moves forward in time."""
    seen: dict[bytes, bytes] = await reply(redis.hgetall(keys.site_seen))
    used: dict[bytes, bytes] = await reply(redis.hgetall(keys.api_key_uses))
    sites = []
    for field, raw in seen.items():
        try:
            note = seen_decoder.decode(raw)
        except msgspec.DecodeError:
            continue
        if note.at > 0:
            at = datetime.fromtimestamp(note.at, UTC)
            sites.append({"key": field.decode(), "url": note.url[:2048] or None, "at": at})
    api_keys = []
    for field, raw in used.items():
        try:
            api_keys.append({"key_id": uuid.UUID(field.decode()), "at": datetime.fromtimestamp(float(raw), UTC)})
        except ValueError:
            continue
    async with sessions() as session, session.begin():
        connection = await session.connection()
        if sites:
            await connection.execute(_site_seen, sites)
        if api_keys:
            await connection.execute(_key_used, api_keys)
    return len(sites) + len(api_keys)


async def housekeeping(ctx: dict[str, Any]) -> int:
    """the arq cron job: one worker at a time (unique) every few minutes. returns the snapshots pruned."""
    try:
        await persist_sightings(ctx["levers_redis"], ctx["redis_keys"], ctx["sessions"])
    except (RedisError, OSError) as exc:
        log.warning("sightings could not be read from redis; next time", error=str(exc))
    await prune_minutes(ctx["sessions"])
    pruned = await prune_snapshots(ctx["sessions"])
    if pruned:
        log.info("pruned policy snapshots", pruned=pruned, kept_per_experiment=KEEP_SNAPSHOTS)
    # the event log's partitions ahead, and the months past its retention dropped (app.worker.event_log); the
    # worker's own log object, so its retention setting and partition cache are the ones its batches use
    event_log: EventLog = ctx.get("event_log") or EventLog()
    await event_log.housekeep(ctx["sessions"])
    return pruned
