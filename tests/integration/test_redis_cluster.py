"""levers on a redis cluster of three masters: select, feedback, the tag and the worker, counted exactly.

every multi-key operation must stay in one slot (a cluster refuses the others with CROSSSLOT), and the
worker runs its jobs without arq there (app.worker.schedule); a real `levers worker` process drains it."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import cast

import pytest
from litestar.testing import AsyncTestClient
from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster

from app.asgi import create_app
from app.lib.mail import DevMailbox
from app.runtime.keys import RedisKeys
from app.runtime.records import params_decoder
from app.settings import Settings
from tests.integration.conftest import Tenant, register
from tests.integration.test_password_reset import mails_to
from tests.integration.test_tag_api import make_shop
from tests.support.cluster import cluster_missing, keys_per_node, local_cluster
from tests.support.processes import process_env, start, stop

pytestmark = pytest.mark.skipif(cluster_missing() is not None, reason=cluster_missing() or "")

SELECTS, REWARDED, TAG_VISITORS = 40, 15, 6


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[int]]:
    with local_cluster(tmp_path_factory.mktemp("cluster")) as ports:
        yield ports


async def _stats(tenant: Tenant, experiment_id: str) -> tuple[int, int, float]:
    stats = (await tenant.get(f"/api/v1/experiments/{experiment_id}/stats", 200)).json()
    arms = stats["arms"]
    return sum(a["exposures"] for a in arms), sum(a["feedbacks"] for a in arms), sum(a["reward_sum"] for a in arms)


async def _until_counted(tenant: Tenant, experiment_id: str, expected: tuple[int, int, float], log: Path) -> None:
    # a deadline only so a broken worker fails the test instead of hanging it
    deadline = time.monotonic() + 60
    while (seen := await _stats(tenant, experiment_id)) != expected:
        if time.monotonic() > deadline:
            raise AssertionError(f"counted {seen}, expected {expected}\n" + await asyncio.to_thread(log.read_text))
        await asyncio.sleep(0.2)


async def test_select_feedback_tag_and_worker_on_a_three_master_cluster(
    settings: Settings, cluster: list[int], tmp_path: Path
) -> None:
    url = f"redis+cluster://127.0.0.1:{cluster[0]}"
    on_cluster = replace(settings, redis_url=url, redis_prefix=f"{settings.redis_prefix}cluster:", stream_shards=4)
    keys = RedisKeys(on_cluster.redis_prefix, on_cluster.stream_shards)
    async with AsyncTestClient(app=create_app(on_cluster)) as client:
        assert isinstance(client.app.state.redis, RedisCluster)
        tenant = await register(client)
        # the development mailbox works on a cluster too: the sign-up's confirmation mail is in it
        reader = RedisCluster.from_url(f"redis://127.0.0.1:{cluster[0]}")
        try:
            box = DevMailbox(cast("Redis", reader), on_cluster.redis_prefix)
            assert [m.subject for m in await mails_to(box, tenant.email)] == ["Confirm your email for Levers"]
        finally:
            await reader.aclose()
        experiment = await tenant.experiment(arms=3)
        # the rest api: every select is an exposure; a feedback counts once per token, its repeats refused
        tokens = []
        for _ in range(SELECTS):
            selected = (await tenant.post("/api/v1/select", {"experiment_id": experiment["id"]}, 200)).json()
            tokens.append(selected["selection_token"])
        for token in tokens[:REWARDED]:
            body = {"selection_token": token, "reward": 1}
            assert (await tenant.post("/api/v1/feedback", body, 202)).json()["duplicate"] is False
        for token in tokens[:3]:
            body = {"selection_token": token, "reward": 1}
            assert (await tenant.post("/api/v1/feedback", body, 202)).json()["duplicate"] is True

        # the tag: exposure and conversion per visitor (the conversion script checks four keys and appends);
        # a repeated exposure, a repeated conversion and a second conversion with a seen eid count nothing
        shop = await make_shop(tenant)
        tag_tokens = [await shop.token(f"visitor-{i}") for i in range(TAG_VISITORS)]
        for i, token in enumerate(tag_tokens):
            answer = await shop.events([{"k": "x", "t": token}, {"k": "c", "t": token, "g": "buy", "d": f"order-{i}"}])
            assert (answer["accepted"], answer["duplicates"]) == (2, 0), answer
        again = await shop.events([{"k": "x", "t": tag_tokens[0]}, {"k": "c", "t": tag_tokens[0], "g": "buy"}])
        assert (again["accepted"], again["duplicates"]) == (0, 2), again
        # another visitor's conversion carrying an order id already counted: a repeat of that order
        other = await shop.token("visitor-late")
        reused = await shop.events([{"k": "x", "t": other}, {"k": "c", "t": other, "g": "buy", "d": "order-0"}])
        assert (reused["accepted"], reused["duplicates"]) == (1, 1), reused

        ready = await client.get("/readyz")
        assert ready.status_code == 200 and ready.json()["checks"]["redis"] == "ok", ready.text

        log = tmp_path / "worker.log"
        worker = start(["worker"], process_env(on_cluster, LOG_LEVEL="INFO", LOG_JSON="1"), log)
        try:
            await _until_counted(tenant, experiment["id"], (SELECTS, REWARDED, float(REWARDED)), log)
            await _until_counted(tenant, shop.experiment["id"], (TAG_VISITORS + 1, TAG_VISITORS, TAG_VISITORS), log)
            # the policies learnt exactly what was counted, and the web processes serve it
            own = RedisCluster.from_url(f"redis://127.0.0.1:{cluster[1]}")
            try:
                record = params_decoder.decode(await own.get(keys.params(experiment["id"])))
            finally:
                await own.aclose()
            assert record.events == REWARDED  # explicit mode: feedbacks train, exposures don't
            metrics = await client.get("/metrics")
            assert metrics.status_code == 200 and "levers_stream_consumer_lag" in metrics.text, metrics.text[:500]
        finally:
            stop(worker)
        lines = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
        assert "Traceback" not in log.read_text(), log.read_text()
        assert not [e for e in lines if e.get("level") in ("error", "critical")], log.read_text()
    # the keys really are spread over the cluster's masters, not all in one slot
    assert sum(1 for n in keys_per_node(cluster) if n > 0) >= 2, keys_per_node(cluster)


def test_a_cluster_url_or_flag_picks_the_cluster_client(settings: Settings) -> None:
    plain = replace(settings, redis_url="redis://127.0.0.1:6379/0")
    assert not plain.redis_is_cluster
    assert replace(plain, redis_cluster=True).redis_is_cluster
    tls = replace(plain, redis_url="rediss+cluster://user:pw@redis.example:6380")
    assert tls.redis_is_cluster and tls.redis_client_url == "rediss://user:pw@redis.example:6380"


def test_a_brace_in_the_prefix_is_refused() -> None:
    # it would become every key's hash tag and pile the whole keyspace into one slot
    with pytest.raises(ValueError, match="REDIS_PREFIX"):
        RedisKeys("levers{x}:", 4)
