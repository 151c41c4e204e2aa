"""the worker's jobs on a redis cluster, without arq.

arq keeps its queue, job and result keys under fixed names in different hash slots and moves jobs between
them in MULTI/EXEC transactions, which a cluster refuses. the worker only ever runs cron jobs, so on a
cluster it runs the same three itself: drain every second; decide at second 15 of every minute and
housekeeping every 10 minutes (at second 30), each run claimed by one worker with SET NX on its own key, as
arq's unique cron jobs are. the jobs are the arq ones (app.worker.settings), with the same ctx.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import structlog
from redis.exceptions import RedisError

from app.runtime import outage
from app.settings import Settings
from app.worker.decide import decide
from app.worker.housekeeping import housekeeping
from app.worker.settings import drain, shutdown, startup

log = structlog.get_logger(__name__)
Job = Callable[[dict[str, Any]], Awaitable[int]]


@dataclass(frozen=True)
class Periodic:
    name: str
    job: Job
    every_seconds: int  # a run is due when (unix second - offset) is a multiple of this
    offset_seconds: int
    timeout_seconds: float


PERIODIC = (
    Periodic("decide", decide, every_seconds=60, offset_seconds=15, timeout_seconds=300),
    Periodic("housekeeping", housekeeping, every_seconds=600, offset_seconds=30, timeout_seconds=300),
)


async def _claim(ctx: dict[str, Any], periodic: Periodic, at: int) -> bool:
    """one worker of all runs this occurrence of the job."""
    key = ctx["redis_keys"].schedule(periodic.name, at)
    try:
        return bool(await ctx["levers_redis"].set(key, b"1", nx=True, ex=periodic.every_seconds * 2))
    except (RedisError, OSError):
        return False


async def _run(ctx: dict[str, Any], periodic: Periodic) -> None:
    try:
        await asyncio.wait_for(periodic.job(ctx), periodic.timeout_seconds)
    except outage.REDIS_DOWN as exc:
        outage.REDIS.down(exc)
    except outage.POSTGRES_DOWN as exc:
        outage.POSTGRES.down(exc)
    except Exception:
        log.exception("scheduled job failed", job=periodic.name)


async def run_schedule(settings: Settings, stop: asyncio.Event) -> None:
    """runs the worker's jobs until `stop` is set; a drain in flight finishes its batch first."""
    ctx: dict[str, Any] = {"levers_settings": settings}
    running: set[asyncio.Task[None]] = set()
    try:
        await startup(ctx)
        last_second = int(time.time()) - 1
        while not stop.is_set():
            await drain(ctx)
            now = int(time.time())
            # every second since the last look, so a slow drain never skips an occurrence
            for second in range(max(last_second + 1, now - 60), now + 1):
                for periodic in PERIODIC:
                    if (second - periodic.offset_seconds) % periodic.every_seconds == 0 and await _claim(
                        ctx, periodic, second
                    ):
                        task = asyncio.create_task(_run(ctx, periodic))
                        running.add(task)
                        task.add_done_callback(running.discard)
            last_second = now
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), max(0.0, 1.0 - (time.time() % 1.0)))
    finally:
        for task in list(running):
            task.cancel()
        await asyncio.gather(*running, return_exceptions=True)
        await shutdown(ctx)


def run_cluster_worker(settings: Settings) -> None:
    """`levers worker` on a cluster: runs until SIGTERM or SIGINT; store outages raise to the supervisor."""

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await run_schedule(settings, stop)

    asyncio.run(main())
