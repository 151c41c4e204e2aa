"""runs the arq worker until it is told to stop: a redis (or postgres) outage that takes arq down is waited
out with back-off, logged once, and the worker starts again by itself."""

from __future__ import annotations

import contextlib
import time

import structlog
from arq.worker import create_worker

from app.runtime import outage
from app.settings import Settings
from app.worker.schedule import run_cluster_worker
from app.worker.settings import shutdown, worker_settings

log = structlog.get_logger(__name__)
FIRST_DELAY_SECONDS = 0.5
MAX_DELAY_SECONDS = 15.0
# a run this long was healthy: the next failure starts the back-off afresh
HEALTHY_RUN_SECONDS = 60.0


def run_until_stopped(settings: Settings) -> int:
    delay = FIRST_DELAY_SECONDS
    while True:
        started = time.monotonic()
        if settings.redis_is_cluster:
            # arq can't keep its queue on a cluster: the same jobs on levers' own schedule (app.worker.schedule)
            try:
                run_cluster_worker(settings)
                return 0
            except outage.REDIS_DOWN as exc:
                outage.REDIS.down(exc)
            except outage.POSTGRES_DOWN as exc:
                outage.POSTGRES.down(exc)
            delay = _back_off(started, delay)
            continue
        worker = create_worker(worker_settings(settings))
        try:
            worker.run()
            return 0  # arq returns once a signal asked it to stop
        except outage.REDIS_DOWN as exc:
            outage.REDIS.down(exc)
        except outage.POSTGRES_DOWN as exc:
            outage.POSTGRES.down(exc)
        # arq's close gave up at its first redis call: release what startup opened (engine, connections)
        if "engine" in worker.ctx:
            with contextlib.suppress(Exception):
                worker.loop.run_until_complete(shutdown(worker.ctx))
        delay = _back_off(started, delay)


def _back_off(started: float, delay: float) -> float:
    """sleeps before the next start; returns the delay after that one."""
    if time.monotonic() - started > HEALTHY_RUN_SECONDS:
        delay = FIRST_DELAY_SECONDS
    time.sleep(delay)
    return min(delay * 2, MAX_DELAY_SECONDS)
