"""the worker waits out a redis outage and resumes by itself; `levers dev` restarts a worker that died."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import time
from dataclasses import replace
from pathlib import Path

import pytest
from redis.asyncio import Redis

from app.runtime.events import EventWriter
from app.runtime.records import Event
from app.runtime.redis import redis_keys
from app.settings import Settings
from tests.conftest import scoped
from tests.integration.conftest import Tenant
from tests.support.processes import free_port, process_env, start, stop, wait_http
from tests.support.redis_server import redis_server


async def _exposures(tenant: Tenant, experiment_id: str) -> int:
    stats = (await tenant.get(f"/api/v1/experiments/{experiment_id}/stats", 200)).json()
    return sum(a["exposures"] for a in stats["arms"])


async def _wait_for(tenant: Tenant, experiment_id: str, expected: int, log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if await _exposures(tenant, experiment_id) == expected:
            return
        await asyncio.sleep(0.2)
    counted = await _exposures(tenant, experiment_id)
    raise AssertionError(f"{counted} counted, not {expected}: {_tail(log)}")


async def _send(settings: Settings, experiment_id: str, n: int) -> None:
    redis = Redis.from_url(settings.redis_url)
    writer = EventWriter(redis, redis_keys(settings))
    for i in range(n):
        event = Event(kind="x", experiment=experiment_id, arm=i % 2, reward=0.0, trials=1, ts=time.time())
        await writer.exposure(event)
    await redis.aclose()


@pytest.mark.slow
async def test_the_worker_waits_out_a_redis_outage_logs_it_once_and_resumes(
    tenant: Tenant, settings: Settings, tmp_path: Path
) -> None:
    experiment_id = (await tenant.experiment(reward_mode="conversion"))["id"]
    log = tmp_path / "worker.log"
    with redis_server(tmp_path, persist=True) as server:
        own = replace(scoped(settings, "outage"), redis_url=server.url)
        worker = start(["worker"], process_env(own, WORKER_LEASE_SECONDS="1"), log)
        try:
            await _send(own, experiment_id, 50)
            await _wait_for(tenant, experiment_id, 50, log)
            server.stop()
            await asyncio.sleep(5)  # several ticks, and a few attempts of arq's own to reconnect
            assert worker.poll() is None, f"the worker exited with redis: {_tail(log)}"
            server.start()
            await _send(own, experiment_id, 30)
            await _wait_for(tenant, experiment_id, 80, log)
            assert worker.poll() is None
        finally:
            stop(worker)
    text = log.read_text()
    assert text.count("redis is unavailable") == 1, text[-3000:]
    assert "redis is back" in text, text[-3000:]
    assert "Traceback" not in text, text[-3000:]


def _tail(log: Path) -> str:
    return log.read_text()[-3000:]


def _children(pid: int) -> dict[int, str]:
    out = subprocess.run(["ps", "--ppid", str(pid), "-o", "pid=,args="], capture_output=True, text=True).stdout
    return {int(line.split(None, 1)[0]): line.split(None, 1)[1] for line in out.strip().splitlines()}


def _worker_of(pid: int) -> int | None:
    return next((child for child, args in _children(pid).items() if args.endswith("app worker")), None)


@pytest.mark.slow
def test_levers_dev_restarts_a_crashed_worker(settings: Settings, tmp_path: Path) -> None:
    port = free_port()
    dev = start(["dev", "--port", str(port)], process_env(scoped(settings, "dev")), tmp_path / "dev.log")
    try:
        wait_http(f"http://127.0.0.1:{port}/healthz")
        deadline = time.monotonic() + 30
        while (first := _worker_of(dev.pid)) is None and time.monotonic() < deadline:
            time.sleep(0.1)
        assert first is not None, (tmp_path / "dev.log").read_text()[-3000:]
        subprocess.run(["kill", "-9", str(first)], check=True)
        deadline = time.monotonic() + 30
        while ((second := _worker_of(dev.pid)) is None or second == first) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert second is not None and second != first, (tmp_path / "dev.log").read_text()[-3000:]
        assert dev.poll() is None
        wait_http(f"http://127.0.0.1:{port}/healthz", timeout=5)  # the web kept running
    finally:
        dev.send_signal(signal.SIGTERM)
        dev.wait(timeout=30)
