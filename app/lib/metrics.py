"""prometheus metrics.

three sources end up on the web's `/metrics`:
- the web process's own series (request latency per route template, selections, feedbacks) in the default
  registry, or in prometheus_client's multiprocess directory when `levers serve` runs several processes;
- the stream and params gauges, read from redis and the hot cache at scrape time;
- each worker's series: a worker has no port of its own (a render background worker can't be scraped), so it
  writes its registry's text to a redis hash every few seconds and the web merges those with a `worker` label.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Iterator
from typing import Any

import msgspec
from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    disable_created_metrics,
    generate_latest,
    multiprocess,
)
from prometheus_client.metrics_core import GaugeMetricFamily, Metric
from prometheus_client.parser import text_string_to_metric_families
from redis.asyncio import Redis
from redis.exceptions import RedisError

from app.runtime.keys import RedisKeys
from app.runtime.records import params_decoder
from app.runtime.redis import reply

# the *_created series double what is exposed for little use
disable_created_metrics()

# --- web process -------------------------------------------------------------------------------------------

_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
HTTP_LATENCY = Histogram(
    "levers_http_request_duration_seconds",
    "time to answer a request, per route template (its _count is the request count)",
    ["method", "route", "status"],
    buckets=_LATENCY_BUCKETS,
)
SELECTIONS = Counter("levers_selections", "arms chosen by select (API and tag), by why that arm was served", ["reason"])
FEEDBACKS = Counter(
    "levers_feedbacks", "feedback accepted by the API and the tag, by whether it was new or a repeat", ["result"]
)

# --- worker process (its own registry: published to redis, never served by the process that holds it) -----

WORKER_REGISTRY = CollectorRegistry(auto_describe=True)
_BATCH_BUCKETS = (1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000)
_DURATION_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
TRAINING_BATCH_SIZE = Histogram(
    "levers_training_batch_size",
    "stream entries per training batch",
    ["shard"],
    buckets=_BATCH_BUCKETS,
    registry=WORKER_REGISTRY,
)
TRAINING_BATCH_SECONDS = Histogram(
    "levers_training_batch_duration_seconds",
    "time to train one batch: policy updates, params to redis, statistics to postgres",
    ["shard"],
    buckets=_DURATION_BUCKETS,
    registry=WORKER_REGISTRY,
)
TRAINED_EVENTS = Counter(
    "levers_trained_events", "events applied to a policy's params", ["shard"], registry=WORKER_REGISTRY
)

SET_ASIDE_EVENTS = Counter(
    "levers_set_aside_events",
    "events a policy could not take (reward beyond bounds, an update that failed): neither trained nor counted",
    registry=WORKER_REGISTRY,
)
DUPLICATE_EVENTS = Counter(
    "levers_duplicate_events",
    "feedbacks dropped by the worker because postgres had already counted them (redis lost its marks)",
    registry=WORKER_REGISTRY,
)

WORKER_SNAPSHOT_SECONDS = 5.0
# without a lag field from redis, a scrape reads at most this many undelivered entries per shard to count them
LAG_SCAN_LIMIT = 10_000
# a worker that stopped publishing for this long is gone (killed, or its redis connection lost)
WORKER_STALE_SECONDS = 3 * WORKER_SNAPSHOT_SECONDS


class _Snapshot(msgspec.Struct, frozen=True):
    ts: float
    text: str


class WorkerMetricsPublisher:
    """writes this worker's metrics to redis every `interval` seconds, for the web's /metrics to merge."""

    def __init__(self, redis: Redis, keys: RedisKeys, worker_id: str, interval: float = WORKER_SNAPSHOT_SECONDS):
        self.redis = redis
        self.key = keys.metrics_workers
        self.worker_id = worker_id
        self.interval = interval
        self._last = 0.0

    async def publish(self) -> None:
        text = generate_latest(WORKER_REGISTRY).decode()
        snapshot = msgspec.json.encode(_Snapshot(ts=time.time(), text=text))
        await reply(self.redis.hset(self.key, mapping={self.worker_id: snapshot}))
        self._last = time.monotonic()

    async def maybe_publish(self) -> None:
        if time.monotonic() - self._last >= self.interval:
            await self.publish()

    async def withdraw(self) -> None:
        await reply(self.redis.hdel(self.key, self.worker_id))


# --- scrape --------------------------------------------------------------------------------------------------


class _Families:
    """a collector over metric families computed for one scrape."""

    def __init__(self, families: Iterable[Metric]) -> None:
        self.families = list(families)

    def collect(self) -> Iterator[Metric]:
        return iter(self.families)


def _process_registry() -> Any:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return registry
    return REGISTRY


async def _stream_families(redis: Redis, keys: RedisKeys) -> list[Metric]:
    length = GaugeMetricFamily("levers_stream_length", "entries in the shard's event stream", labels=["shard"])
    lag = GaugeMetricFamily(
        "levers_stream_consumer_lag", "entries not yet delivered to the trainers' consumer group", labels=["shard"]
    )
    pending = GaugeMetricFamily(
        "levers_stream_pending", "entries delivered to a trainer but not yet acknowledged", labels=["shard"]
    )
    async with redis.pipeline(transaction=False) as pipe:
        for shard in range(keys.shards):
            pipe.xlen(keys.stream(shard))
            pipe.xinfo_groups(keys.stream(shard))
        replies = await pipe.execute(raise_on_error=False)
    for shard in range(keys.shards):
        size, groups = replies[2 * shard], replies[2 * shard + 1]
        if isinstance(size, Exception):
            continue
        length.add_metric([str(shard)], size)
        group = None
        if not isinstance(groups, Exception):
            group = next((g for g in groups if _text(g.get("name")) == keys.consumer_group), None)
        if group is None:
            # no consumer group yet: nothing has been delivered
            lag.add_metric([str(shard)], size)
            pending.add_metric([str(shard)], 0)
            continue
        pending.add_metric([str(shard)], int(group.get("pending") or 0))
        if group.get("lag") is not None:
            lag.add_metric([str(shard)], int(group["lag"]))
        else:
            # redis < 7 (the embedded one) has no lag field, and redis 7 answers nil when it can't tell
            undelivered = await count_undelivered(redis, keys.stream(shard), _text(group.get("last-delivered-id")))
            if undelivered is not None:
                lag.add_metric([str(shard)], undelivered)
    return [length, lag, pending]


async def count_undelivered(redis: Redis, stream: str, last_delivered: str) -> int | None:
    """entries after the group's last delivered id, counted by reading them: saturates at LAG_SCAN_LIMIT."""
    try:
        entries = await redis.xrange(stream, min=f"({last_delivered}", max="+", count=LAG_SCAN_LIMIT)
    except RedisError:
        return None  # before redis 6.2 there are no exclusive ranges
    return len(entries)


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _params_family(runtimes: Iterable[Any], now: float) -> Metric:
    age = GaugeMetricFamily(
        "levers_params_age_seconds",
        "seconds since the worker last trained the experiment's params (as this web process holds them)",
        labels=["experiment"],
    )
    for runtime in runtimes:
        if runtime.raw_params is None:
            continue
        try:
            record = params_decoder.decode(runtime.raw_params)
        except msgspec.DecodeError:
            continue
        age.add_metric([runtime.config.id], max(0.0, now - record.updated_at))
    return age


async def _worker_families(redis: Redis, keys: RedisKeys, now: float) -> list[Metric]:
    raw: dict[bytes, bytes] = await reply(redis.hgetall(keys.metrics_workers))
    merged: dict[str, Metric] = {}
    stale: list[bytes] = []
    for field, value in sorted(raw.items()):
        try:
            snapshot = msgspec.json.decode(value, type=_Snapshot)
        except msgspec.DecodeError:
            stale.append(field)
            continue
        if now - snapshot.ts > WORKER_STALE_SECONDS:
            stale.append(field)
            continue
        worker = _text(field)
        for family in text_string_to_metric_families(snapshot.text):
            target = merged.get(family.name)
            if target is None:
                target = merged[family.name] = Metric(family.name, family.documentation, family.type, family.unit)
            target.samples.extend(s._replace(labels={**s.labels, "worker": worker}) for s in family.samples)
    if stale:
        # redis-py types fields as str; bytes are sent as they are
        await reply(redis.hdel(keys.metrics_workers, *stale))  # type: ignore[arg-type]
    return list(merged.values())


async def scrape(redis: Redis, keys: RedisKeys, runtimes: Iterable[Any]) -> bytes:
    """the text of /metrics: this process's series, then the stream, params and workers' series."""
    now = time.time()
    families = [_params_family(runtimes, now)]
    try:
        families += await _stream_families(redis, keys)
        families += await _worker_families(redis, keys, now)
    except (RedisError, OSError):
        pass  # redis is down: /readyz says so; this process's own series are still worth serving
    return generate_latest(_process_registry()) + generate_latest(_Families(families))
