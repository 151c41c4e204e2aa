"""/metrics after real traffic: select and feedback through the api, a real drain, the worker's snapshot."""

from __future__ import annotations

import asyncio
import os
import time
from dataclasses import replace

import msgspec
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample
from redis.asyncio import Redis

from app.asgi import create_app
from app.lib.metrics import WORKER_STALE_SECONDS, WorkerMetricsPublisher, count_undelivered
from app.settings import Settings
from app.worker.drain import Drainer
from tests.integration.conftest import Tenant


async def scrape(client: AsyncTestClient[Litestar]) -> list[Sample]:
    response = await client.get("/metrics")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return [s for family in text_string_to_metric_families(response.text) for s in family.samples]


def value(samples: list[Sample], name: str, **labels: str) -> float:
    """the sum over the samples of that name whose labels include these (0 when there is none)."""
    return sum(s.value for s in samples if s.name == name and labels.items() <= s.labels.items())


def has(samples: list[Sample], name: str, **labels: str) -> bool:
    return any(s.name == name and labels.items() <= s.labels.items() for s in samples)


async def test_metrics_expose_the_series_after_real_traffic(
    tenant: Tenant, client: AsyncTestClient[Litestar], app: Litestar, drainer: Drainer, redis: Redis
) -> None:
    experiment = await tenant.experiment(arms=2)
    keys = app.state.redis_keys
    shard = str(keys.shard_of(experiment["id"]))
    before = await scrape(client)

    tokens = []
    for i in range(12):
        body = {"experiment_id": experiment["id"], "context": {"id": f"visitor-{i}"}}
        tokens.append((await tenant.post("/api/v1/select", body, 200)).json()["selection_token"])
    for token in tokens[:5]:
        await tenant.post("/api/v1/feedback", {"selection_token": token, "reward": 1.0}, 202)
    await tenant.post("/api/v1/feedback", {"selection_token": tokens[0], "reward": 1.0}, 202)  # a repeat
    await tenant.get(f"/api/v1/experiments/{experiment['id']}", 200)

    waiting = await scrape(client)
    if os.environ.get("LEVERS_DUMP_METRICS"):
        print((await client.get("/metrics")).text)
    assert value(waiting, "levers_selections_total", reason="policy") - value(
        before, "levers_selections_total", reason="policy"
    ) == pytest.approx(12)
    assert value(waiting, "levers_feedbacks_total", result="accepted") - value(
        before, "levers_feedbacks_total", result="accepted"
    ) == pytest.approx(5)
    assert value(waiting, "levers_feedbacks_total", result="duplicate") - value(
        before, "levers_feedbacks_total", result="duplicate"
    ) == pytest.approx(1)
    # 12 exposures and 5 feedbacks wait in the experiment's shard, not yet delivered to the trainers
    assert value(waiting, "levers_stream_length", shard=shard) >= 17
    assert value(waiting, "levers_stream_consumer_lag", shard=shard) >= 17
    assert has(waiting, "levers_stream_pending", shard=shard)

    # latency per route template: the select route, and the experiment route without its raw id
    select = {"route": "/api/v1/select", "method": "POST", "status": "200"}
    assert value(waiting, "levers_http_request_duration_seconds_count", **select) >= 12
    assert has(waiting, "levers_http_request_duration_seconds_bucket", le="0.005", **select)
    assert value(waiting, "levers_http_request_duration_seconds_count", route="/api/v1/feedback", status="202") >= 6
    paths = {s.labels.get("route", "") for s in waiting if s.name.startswith("levers_http_")}
    assert any(p.startswith("/api/v1/experiments/{") for p in paths), paths
    assert not any(experiment["id"] in p for p in paths), paths

    while await drainer.tick():
        pass
    await WorkerMetricsPublisher(redis, keys, drainer.worker_id).publish()

    deadline = time.monotonic() + 5
    while True:  # the hot cache picks the trained params up within its refresh interval
        drained = await scrape(client)
        if has(drained, "levers_params_age_seconds", experiment=experiment["id"]) or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.05)
    assert 0 <= value(drained, "levers_params_age_seconds", experiment=experiment["id"]) < 60
    assert has(drained, "levers_stream_consumer_lag", shard=shard)
    assert value(drained, "levers_stream_consumer_lag", shard=shard) == 0
    assert has(drained, "levers_stream_pending", shard=shard)
    assert value(drained, "levers_stream_pending", shard=shard) == 0

    worker = {"worker": drainer.worker_id}
    assert value(drained, "levers_training_batch_size_count", **worker) >= 1
    assert value(drained, "levers_training_batch_size_sum", shard=shard, **worker) >= 17
    assert value(drained, "levers_training_batch_duration_seconds_count", shard=shard, **worker) >= 1
    assert has(drained, "levers_training_batch_duration_seconds_bucket", le="+Inf", **worker)
    assert value(drained, "levers_trained_events_total", shard=shard, **worker) >= 5  # explicit mode: feedbacks
    if os.environ.get("LEVERS_DUMP_METRICS"):
        print((await client.get("/metrics")).text)


async def test_lag_is_counted_where_redis_does_not_report_it(app: Litestar, redis: Redis) -> None:
    # the embedded redis (6.2) has no lag field in XINFO GROUPS: the scrape counts the undelivered entries
    stream = f"{app.state.redis_keys.prefix}lag-check"
    ids = [text(await redis.xadd(stream, {"n": str(i)})) for i in range(7)]
    await redis.xgroup_create(stream, "trainers", id="0")
    assert await count_undelivered(redis, stream, "0-0") == 7
    await redis.xreadgroup("trainers", "one", {stream: ">"}, count=3)
    last_delivered = text((await redis.xinfo_groups(stream))[0]["last-delivered-id"])
    assert last_delivered == ids[2]
    assert await count_undelivered(redis, stream, last_delivered) == 4
    await redis.xreadgroup("trainers", "one", {stream: ">"})
    assert await count_undelivered(redis, stream, ids[-1]) == 0
    await redis.delete(stream)


def text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


async def test_a_silent_worker_drops_out_of_the_metrics(
    client: AsyncTestClient[Litestar], app: Litestar, redis: Redis
) -> None:
    key = app.state.redis_keys.metrics_workers
    text = (
        "# HELP levers_trained_events_total x\n# TYPE levers_trained_events_total counter\n"
        'levers_trained_events_total{shard="0"} 3.0\n'
    )
    old = msgspec.json.encode({"ts": time.time() - WORKER_STALE_SECONDS - 1, "text": text})
    fresh = msgspec.json.encode({"ts": time.time(), "text": text})
    await redis.hset(key, mapping={"gone-worker": old, "live-worker": fresh})

    samples = await scrape(client)
    assert value(samples, "levers_trained_events_total", worker="live-worker") == 3
    assert not has(samples, "levers_trained_events_total", worker="gone-worker")
    assert not await redis.hexists(key, "gone-worker")
    await redis.hdel(key, "live-worker")


async def test_metrics_token_guards_the_endpoint(settings: Settings) -> None:
    guarded = create_app(replace(settings, metrics_token="a-long-random-metrics-token"))
    async with AsyncTestClient(app=guarded) as client:
        assert (await client.get("/metrics")).status_code == 401
        bad = await client.get("/metrics", headers={"Authorization": "Bearer nope"})
        assert bad.status_code == 401
        good = await client.get("/metrics", headers={"Authorization": "Bearer a-long-random-metrics-token"})
        assert good.status_code == 200
        assert "levers_stream_length" in good.text
