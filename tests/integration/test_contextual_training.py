"""a contextual policy trains on feedbacks that arrive in a later batch than their exposures: the worker keeps
each exposure's context in redis (one hash per experiment and hour of issue) and finds it again for the feedback,
also one stored before the hashes, a key per exposure."""

from __future__ import annotations

from litestar import Litestar
from redis.asyncio import Redis

from app.runtime.keys import RedisKeys
from app.runtime.records import encode, params_decoder
from app.worker.drain import Drainer
from tests.integration.conftest import Tenant, drain

VECTORS = [[1.0, 0.0], [0.0, 1.0], [0.5, 0.5], [1.0, 1.0], [0.2, 0.8]]


async def _params_events(redis: Redis, keys: RedisKeys, experiment_id: str) -> int:
    raw = await redis.get(keys.params(experiment_id))
    return 0 if raw is None else params_decoder.decode(raw).events


async def test_feedbacks_drained_after_their_exposures_train_with_the_stored_contexts(
    tenant: Tenant, drainer: Drainer, redis: Redis, app: Litestar
) -> None:
    keys: RedisKeys = app.state.redis_keys
    experiment = await tenant.experiment(arms=2, protocol="lin_ucb", context_dim=2)
    tokens = []
    for vector in VECTORS:
        body = {"experiment_id": experiment["id"], "context": {"vector": vector}}
        tokens.append((await tenant.post("/api/v1/select", body, 200)).json()["selection_token"])
    await drain(drainer)  # the exposures alone: nothing trains yet (explicit rewards), their contexts are kept
    assert await _params_events(redis, keys, experiment["id"]) == 0
    hashes = [key async for key in redis.scan_iter(match=f"{keys.prefix}*:ctxh:{experiment['id']}:*")]
    assert len(hashes) in (1, 2)  # the hour the selections were issued in (two if it turned meanwhile)
    assert sum([await redis.hlen(key) for key in hashes]) == len(VECTORS)
    # the default attribution window (24 h) and an hour of slack past the end of the hour of issue
    ttls = [await redis.ttl(key) for key in hashes]
    assert all(24 * 3600 < ttl <= 26 * 3600 for ttl in ttls), ttls

    # one exposure's context as a release before the hashes stored it: a key of its own, found all the same
    nonce = app.state.decisions.tokens.verify(tokens[0]).n
    for key in hashes:
        await redis.hdel(key, nonce)
    await redis.set(keys.context(experiment["id"], nonce), encode(VECTORS[0]), ex=3600)

    for token in tokens:
        await tenant.post("/api/v1/feedback", {"selection_token": token, "reward": 1.0}, 202)
    await drain(drainer)
    assert await _params_events(redis, keys, experiment["id"]) == len(VECTORS)
    stats = (await tenant.get(f"/api/v1/experiments/{experiment['id']}/stats", 200)).json()
    assert sum(a["feedbacks"] for a in stats["arms"]) == len(VECTORS)


async def test_a_feedback_whose_context_is_gone_counts_but_does_not_train(
    tenant: Tenant, drainer: Drainer, redis: Redis, app: Litestar
) -> None:
    keys: RedisKeys = app.state.redis_keys
    experiment = await tenant.experiment(arms=2, protocol="lin_ucb", context_dim=2)
    body = {"experiment_id": experiment["id"], "context": {"vector": [0.3, 0.7]}}
    token = (await tenant.post("/api/v1/select", body, 200)).json()["selection_token"]
    await drain(drainer)
    async for key in redis.scan_iter(match=f"{keys.prefix}*:ctxh:{experiment['id']}:*"):
        await redis.delete(key)
    await tenant.post("/api/v1/feedback", {"selection_token": token, "reward": 1.0}, 202)
    await drain(drainer)
    assert await _params_events(redis, keys, experiment["id"]) == 0
    stats = (await tenant.get(f"/api/v1/experiments/{experiment['id']}/stats", 200)).json()
    assert sum(a["feedbacks"] for a in stats["arms"]) == 1
