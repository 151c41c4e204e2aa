"""the exploration floor through the api, the published config and the select hot path; default policies."""

from __future__ import annotations

import asyncio
import time

import numpy as np
import pytest
from litestar import Litestar
from redis.asyncio import Redis

from app.bandits import get_policy
from app.runtime.records import ParamsRecord, encode
from tests.integration.conftest import Tenant


async def test_floor_is_stored_validated_and_defaults(tenant: Tenant) -> None:
    conversion = await tenant.experiment(protocol=None, reward_mode="conversion")
    assert conversion["exploration_floor"] == 0.05 and conversion["protocol"] == "stratified_ts"
    explicit = await tenant.experiment(protocol=None, reward_mode="explicit", exploration_floor=0)
    assert explicit["exploration_floor"] == 0 and explicit["protocol"] == "beta_ts"
    pool = await tenant.pool()
    for bad in (1, 1.5, -0.01):
        response = await tenant.post(
            "/api/v1/experiments", {"name": "e", "pool_id": pool["id"], "exploration_floor": bad}
        )
        assert response.status_code == 422, response.text
        assert [e["field"] for e in response.json()["errors"]] == ["exploration_floor"]
    path = f"/api/v1/experiments/{conversion['id']}"
    response = await tenant.client.put(path, json={"exploration_floor": 1.0}, headers=tenant.headers)
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "exploration_floor"
    response = await tenant.client.put(path, json={"exploration_floor": 0.2}, headers=tenant.headers)
    assert response.status_code == 200 and response.json()["exploration_floor"] == 0.2
    assert (await tenant.get(path, 200)).json()["exploration_floor"] == 0.2


@pytest.mark.parametrize("floor", [0.0, 0.4])
async def test_select_mixes_the_floor_into_the_served_arm_and_its_token(
    tenant: Tenant, app: Litestar, redis: Redis, floor: float
) -> None:
    experiment = await tenant.experiment(arms=4, exploration_floor=floor)
    policy = get_policy("beta_ts")
    # the worker's params: arm 0 converted 300 times out of 300, the others never tried
    state = policy.init_state(4)
    state = policy.update(state, np.zeros(300, dtype=np.int64), np.ones(300))
    record = ParamsRecord(last_id="0-1", state=policy.state_to_json(state), events=300, updated_at=time.time())
    await redis.set(app.state.redis_keys.params(experiment["id"]), encode(record))
    # the app's background refresh picks the params up (its redis client lives on the app's loop)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        runtime = app.state.hot_cache.experiments.get(experiment["id"])
        if runtime is not None and runtime.raw_params is not None:
            break
        await asyncio.sleep(0.05)
    assert runtime.state == state and runtime.config.exploration_floor == floor
    own = policy.arm_probabilities(state)
    served = []
    for i in range(400):
        body = {"experiment_id": experiment["id"], "context": {"id": f"v-{i}"}}
        selected = (await tenant.post("/api/v1/select", body, 200)).json()
        claims = app.state.decisions.tokens.verify(selected["selection_token"])
        arm = selected["arm"]["index"]
        assert claims.p == pytest.approx((1 - floor) * own[arm] + floor / 4, rel=1e-9)
        served.append(arm)
    others = np.mean(np.asarray(served) != 0)
    # the policy alone sends the untried arms a few per cent; the floor adds 3/4 of its share
    expected = (1 - floor) * own[1:].sum() + floor * 3 / 4
    assert abs(others - expected) < 0.07, (others, expected)
