"""a worker killed with SIGKILL at random moments loses no event and counts none twice."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import time
from pathlib import Path
from uuid import UUID

import pytest
from litestar import Litestar
from redis.asyncio import Redis
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import create_async_engine

from app.db.models.event_log import event_log
from app.runtime.events import EventWriter
from app.runtime.keys import RedisKeys
from app.runtime.records import Event, params_decoder
from app.settings import Settings
from tests.conftest import scoped
from tests.integration.conftest import Tenant
from tests.support.processes import process_env, start, stop

EXPOSURES = 24000
CONVERSION_EVERY = 7
CHUNK = 200


class Producer:
    """writes events steadily, as live traffic would, so every kill lands while the worker has work."""

    def __init__(self, writer: EventWriter, experiment_id: str) -> None:
        self.writer = writer
        self.experiment_id = experiment_id
        self.exposures = 0
        self.conversions = 0

    async def run(self) -> None:
        for start_at in range(0, EXPOSURES, CHUNK):
            batch = []
            for i in range(start_at, start_at + CHUNK):
                arm = i % 3
                event = Event(kind="x", experiment=self.experiment_id, arm=arm, reward=0.0, trials=1, ts=time.time())
                batch.append(self.writer.exposure(event))
                if i % CONVERSION_EVERY == 0:
                    event = Event(
                        kind="f", experiment=self.experiment_id, arm=arm, reward=1.0, trials=0, ts=time.time()
                    )
                    batch.append(self.writer.once(event, f"crash-{i}", 600))
            await asyncio.gather(*batch)
            self.exposures += CHUNK
            self.conversions += len(batch) - CHUNK
            await asyncio.sleep(0.05)


async def _logged(settings: Settings, experiment_id: str) -> tuple[int, int]:
    """exposures and rewards in the durable event log."""
    engine = create_async_engine(settings.async_database_url)
    async with engine.connect() as connection:
        rows = await connection.execute(
            select(event_log.c.kind, func.count())
            .where(event_log.c.experiment_id == UUID(experiment_id))
            .group_by(event_log.c.kind)
        )
        found = {kind: int(n) for kind, n in rows}
    await engine.dispose()
    return found.get("x", 0), found.get("f", 0)


async def _stats(tenant: Tenant, experiment_id: str) -> tuple[int, int]:
    stats = (await tenant.get(f"/api/v1/experiments/{experiment_id}/stats", 200)).json()
    return sum(a["exposures"] for a in stats["arms"]), sum(a["feedbacks"] for a in stats["arms"])


@pytest.mark.slow
async def test_sigkilled_worker_loses_nothing_and_counts_nothing_twice(
    tenant: Tenant, settings: Settings, redis: Redis, app: Litestar, tmp_path: Path
) -> None:
    experiment = await tenant.experiment(arms=3, reward_mode="conversion")
    experiment_id = experiment["id"]
    crash_settings = scoped(settings, "crash")
    keys = RedisKeys(crash_settings.redis_prefix, crash_settings.stream_shards)
    # the worker under test reads its own prefix: give it this experiment's published config
    config = await redis.hget(app.state.redis_keys.experiments, experiment_id)
    await redis.hset(keys.experiments, experiment_id, config)
    await redis.incr(keys.config_version)
    writer = EventWriter(redis, keys)
    env = process_env(crash_settings, WORKER_LEASE_SECONDS="1", WORKER_BATCH_SIZE="150")
    log = tmp_path / "worker.log"
    rng = random.Random(7)

    producer = Producer(writer, experiment_id)
    producing = asyncio.create_task(producer.run())
    kills_mid_stream = 0
    for _ in range(3):
        worker = start(["worker"], env, log)
        # wait until this worker is counting, then kill it a random moment later
        before, _ = await _stats(tenant, experiment_id)
        for _ in range(600):
            if (await _stats(tenant, experiment_id))[0] > before:
                break
            await asyncio.sleep(0.05)
        await asyncio.sleep(rng.random() * 0.5)
        worker.send_signal(signal.SIGKILL)
        worker.wait()
        counted, _ = await _stats(tenant, experiment_id)
        kills_mid_stream += counted < producer.exposures
    await producing
    sent_exposures, sent_conversions = producer.exposures, producer.conversions

    worker = start(["worker"], env, log)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            counted = await _stats(tenant, experiment_id)
            if counted == (sent_exposures, sent_conversions):
                break
            await asyncio.sleep(0.2)
        await asyncio.sleep(1.5)  # anything counted twice would show up now
        # the worker runs at a lower priority than the web process (WORKER_NICE, default 10)
        assert os.getpriority(os.PRIO_PROCESS, worker.pid) == 10
        assert await _stats(tenant, experiment_id) == (sent_exposures, sent_conversions), log.read_text()[-3000:]
        # the event log is written in the statistics' transaction: every event in it once, none twice
        assert await _logged(settings, experiment_id) == (sent_exposures, sent_conversions)
        raw = await redis.get(keys.params(experiment_id))
        record = params_decoder.decode(raw)
        assert record.events == sent_exposures + sent_conversions
        assert kills_mid_stream >= 1, "every kill came after the worker had finished: the test proved nothing"
    finally:
        stop(worker)
