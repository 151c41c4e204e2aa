"""fixed-weight experiments through the real app, postgres, redis and worker."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from litestar import Litestar
from redis.asyncio import Redis
from scipy import stats

from app.lib.tokens import SelectionTokens
from app.settings import Settings
from app.targeting.split import Split
from app.worker.drain import Drainer
from tests.integration.conftest import Tenant
from tests.integration.test_tag_api import make_shop


async def put(tenant: Tenant, experiment_id: str, body: dict[str, Any], expect: int) -> Any:
    response = await tenant.client.put(f"/api/v1/experiments/{experiment_id}", json=body, headers=tenant.headers)
    assert response.status_code == expect, response.text
    return response.json()


async def select(tenant: Tenant, experiment_id: str, visitor: str) -> dict[str, Any]:
    body = {"experiment_id": experiment_id, "context": {"id": visitor}}
    return (await tenant.post("/api/v1/select", body, 200)).json()


async def test_a_fixed_split_is_deterministic_weighted_and_never_trains(
    tenant: Tenant, drainer: Drainer, redis: Redis, app: Litestar, settings: Settings
) -> None:
    experiment = await tenant.experiment(arms=3, allocation="fixed", weights=[0.2, 0.3, 0.5], reward_mode="conversion")
    assert experiment["allocation"] == "fixed" and experiment["weights"] == [0.2, 0.3, 0.5]
    assert [h["allocation"] for h in experiment["allocation_history"]] == ["fixed"]
    split = Split(experiment["split_ranges"])
    tokens = SelectionTokens(settings.secret_key)
    arms, converted = [], []
    for i in range(600):
        visitor = f"visitor-{i}"
        chosen = await select(tenant, experiment["id"], visitor)
        again = await select(tenant, experiment["id"], visitor)
        arm = chosen["arm"]["index"]
        # the same arm every time, and the one an sdk computes from the published ranges
        assert again["arm"]["index"] == arm == split.arm_for(experiment["id"], visitor)
        assert tokens.verify(chosen["selection_token"]).p == [0.2, 0.3, 0.5][arm]
        arms.append(arm)
        if arm == 2 and i % 3 == 0:
            converted.append(chosen["selection_token"])
    counts = np.bincount(arms, minlength=3)
    assert stats.chisquare(counts, np.array([0.2, 0.3, 0.5]) * len(arms)).pvalue > 0.001
    for token in converted:
        await tenant.post("/api/v1/feedback", {"selection_token": token, "reward": 1}, 202)
    while await drainer.tick():
        pass
    result = (await tenant.get(f"/api/v1/experiments/{experiment['id']}/stats", 200)).json()
    # both selects of a visitor were exposures, as for a bandit
    assert [a["exposures"] for a in result["arms"]] == (2 * counts).tolist()
    assert [a["reward_sum"] for a in result["arms"]] == [0, 0, len(converted)]
    # no policy was trained: no params were written
    assert await redis.get(app.state.redis_keys.params(experiment["id"])) is None


async def test_switching_to_fixed_and_back_and_changing_weights(tenant: Tenant) -> None:
    experiment = await tenant.experiment(arms=2)
    assert experiment["allocation"] == "bandit" and experiment["split_ranges"] is None
    fixed = await put(tenant, experiment["id"], {"allocation": "fixed"}, 200)
    assert fixed["weights"] == [0.5, 0.5]
    visitors = [f"v{i}" for i in range(400)]
    before = [(await select(tenant, experiment["id"], v))["arm"]["index"] for v in visitors]
    assert before == [Split(fixed["split_ranges"]).arm_for(experiment["id"], v) for v in visitors]
    changed = await put(tenant, experiment["id"], {"weights": [0.9, 0.1]}, 200)
    after = [(await select(tenant, experiment["id"], v))["arm"]["index"] for v in visitors]
    # only arm 1's lost range moves, and only towards arm 0
    assert all(a == 0 for b, a in zip(before, after, strict=True) if b == 0)
    moved = sum(b != a for b, a in zip(before, after, strict=True))
    assert abs(moved / len(visitors) - 0.4) < 0.1
    # leaving weights out keeps them; an explicit null goes back to equal
    assert (await put(tenant, experiment["id"], {"name": "renamed"}, 200))["weights"] == [0.9, 0.1]
    assert (await put(tenant, experiment["id"], {"weights": None}, 200))["weights"] == [0.5, 0.5]
    back = await put(tenant, experiment["id"], {"allocation": "bandit"}, 200)
    assert [h["allocation"] for h in back["allocation_history"]] == ["bandit", "fixed", "fixed", "fixed", "bandit"]
    assert changed["allocation_history"][-1]["weights"] == [0.9, 0.1]
    # a bandit serves through its policy again: some visitor gets another arm on a second call
    repeats = [(await select(tenant, experiment["id"], "same"))["arm"]["index"] for _ in range(40)]
    assert len(set(repeats)) == 2


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"allocation": "fixed", "weights": [0.5, 0.25, 0.25]}, 422, "weights"),
        ({"allocation": "fixed", "weights": [1.5, -0.5]}, 422, "weights"),
        ({"allocation": "fixed", "weights": [0.5, 0.4]}, 422, "weights"),
        ({"allocation": "sometimes"}, 400, "allocation"),
        ({"weights": "half"}, 400, "weights"),
    ],
)
async def test_bad_allocations_name_their_field(tenant: Tenant, body: dict[str, Any], status: int, field: str) -> None:
    pool = await tenant.pool(2)
    response = await tenant.post("/api/v1/experiments", {"name": "x", "pool_id": pool["id"], **body}, status)
    assert response.json()["errors"][0]["field"] == field
    experiment = await tenant.experiment(pool_id=pool["id"])
    response = await tenant.client.put(f"/api/v1/experiments/{experiment['id']}", json=body, headers=tenant.headers)
    assert response.status_code == status and response.json()["errors"][0]["field"] == field


async def test_the_tag_and_the_api_agree_on_a_visitors_arm(tenant: Tenant) -> None:
    shop = await make_shop(tenant, arms=3, allocation="fixed", weights=[0.1, 0.6, 0.3])
    split = Split(shop.experiment["split_ranges"])
    seen = set()
    for i in range(150):
        visitor = f"tag-visitor-{i}"
        [decision] = (await shop.decide({"v": visitor, "x": ["hero"]})).json()["d"]
        chosen = await select(tenant, shop.experiment["id"], visitor)
        expected = split.arm_for(shop.experiment["id"], visitor)
        assert decision["n"] == chosen["arm"]["name"] == f"arm-{expected}"
        assert decision["r"] == "policy" and decision["t"]  # counted, as a bandit's choice would be
        seen.add(expected)
    assert seen == {0, 1, 2}
