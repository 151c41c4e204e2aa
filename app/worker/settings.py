"""arq worker settings: a cron tick every second drains the event streams; housekeeping runs every 10 minutes."""

from __future__ import annotations

import contextlib
from dataclasses import replace
from typing import Any

from arq import cron
from arq.connections import RedisSettings
from redis.exceptions import RedisError
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

from app.lib.logging import configure_logging
from app.lib.metrics import WorkerMetricsPublisher
from app.lib.migrations import wait_for_schema
from app.runtime import outage
from app.runtime.publish import Publisher
from app.runtime.redis import create_redis, redis_keys
from app.settings import Settings, get_settings
from app.worker.decide import decide
from app.worker.drain import Drainer
from app.worker.event_log import EventLog
from app.worker.housekeeping import housekeeping
from app.worker.recovery import restore_params


async def startup(ctx: dict[str, Any]) -> None:
    settings: Settings = ctx["levers_settings"]
    configure_logging(settings)
    # render migrates in the web's pre-deploy step only: this worker can start before the schema is there
    await wait_for_schema(settings.async_database_url, role="worker")
    engine = create_async_engine(settings.async_database_url, pool_size=5, pool_pre_ping=True)
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    redis = create_redis(settings, socket_timeout=10.0)
    keys = redis_keys(settings)
    # in ctx at once: a stop asked for while startup still runs finds what to close
    ctx.update(engine=engine, sessions=sessions, redis_keys=keys, levers_redis=redis)
    if not await redis.exists(keys.config_version):
        # a first start, or a redis that lost everything: configuration and params come back from postgres
        async with sessions() as session:
            await Publisher(redis, keys).everything(session)
        await restore_params(redis, keys, sessions)
    event_log = EventLog(retention_days=settings.event_log_retention_days)
    # this month's and next month's partitions, and none past the retention
    await event_log.housekeep(sessions)
    drainer = Drainer(
        redis,
        keys,
        sessions,
        batch_size=settings.worker_batch_size,
        lease_seconds=settings.worker_lease_seconds,
        event_log=event_log,
    )
    metrics = WorkerMetricsPublisher(redis, keys, drainer.worker_id)
    with contextlib.suppress(RedisError, OSError):
        await metrics.publish()
    ctx.update(
        publisher=Publisher(redis, keys),
        drainer=drainer,
        event_log=event_log,
        worker_metrics=metrics,
    )
    outage.REDIS.up()


async def shutdown(ctx: dict[str, Any]) -> None:
    # a batch in flight has finished by now (the lock is held while it runs); unacknowledged entries stay
    # pending for whoever takes the lease next
    # (a stop during startup finds only what startup had opened by then)
    if "drainer" in ctx:
        with contextlib.suppress(RedisError, OSError):
            await ctx["drainer"].release()
    if "worker_metrics" in ctx:
        with contextlib.suppress(RedisError, OSError):
            await ctx["worker_metrics"].withdraw()
    if "levers_redis" in ctx:
        await ctx["levers_redis"].aclose()
    if "engine" in ctx:
        await ctx["engine"].dispose()


async def drain(ctx: dict[str, Any]) -> int:
    # a store outage is not a job failure: no traceback per tick, one line when it goes and one when it's back;
    # the batch in flight stays pending and is retried on the next tick
    try:
        done = await ctx["drainer"].tick()
    except outage.REDIS_DOWN as exc:
        outage.REDIS.down(exc)
        return 0
    except outage.POSTGRES_DOWN as exc:
        outage.POSTGRES.down(exc)
        return 0
    outage.REDIS.up()
    outage.POSTGRES.up()
    with contextlib.suppress(RedisError, OSError):
        await ctx["worker_metrics"].maybe_publish()
    return done


def worker_settings(given: Settings | None = None) -> type:
    settings = given or get_settings()

    class WorkerSettings:
        functions: list[Any] = []
        cron_jobs = [
            cron(drain, second=None, unique=False, run_at_startup=True, timeout=60, keep_result=0),
            cron(decide, second=15, timeout=300, keep_result=0),
            cron(housekeeping, minute=set(range(0, 60, 10)), second=30, unique=True, timeout=300, keep_result=0),
        ]
        on_startup = startup
        on_shutdown = shutdown
        # no retries of arq's own (each one a warning with its traceback): app.worker.supervise backs off
        redis_settings = replace(RedisSettings.from_dsn(settings.redis_url), conn_retries=0)
        queue_name = redis_keys(settings).arq_queue
        ctx = {"levers_settings": settings}
        max_jobs = 4
        poll_delay = 0.2
        handle_signals = True
        # on SIGTERM stop taking ticks and let the running one finish its batch (under a second); a batch still
        # running after this is cancelled and stays pending for the next lease holder
        job_completion_wait = 20
        health_check_interval = 30

    return WorkerSettings
