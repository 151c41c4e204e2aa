"""gate-served traffic never trains the bandit nor counts in its results, and shows as holdout traffic."""

from __future__ import annotations

from collections import Counter

from litestar import Litestar
from redis.asyncio import Redis

from app.runtime.records import params_decoder
from app.worker.drain import Drainer
from tests.integration.conftest import Tenant, drain
from tests.integration.pages_support import PageSession


async def test_gate_served_traffic_is_holdout_not_training(
    tenant: Tenant, drainer: Drainer, redis: Redis, app: Litestar
) -> None:
    experiment = await tenant.experiment(arms=3, reward_mode="conversion")
    eid = experiment["id"]
    rules = [
        {"id": "dach", "condition": {"attribute": "country", "operator": "eq", "value": "DE"}, "arm": 2},
        {"id": "bots", "action": "exclude", "condition": {"attribute": "device", "operator": "eq", "value": "bot"}},
    ]
    await tenant.post("/api/v1/gates", {"experiment_id": eid, "rules": rules, "rollout_percent": 50}, 201)
    served: Counter[str] = Counter()
    by_reason_arm: Counter[tuple[str, int]] = Counter()
    policy_tokens: list[str] = []
    holdout_tokens: list[str] = []
    for i in range(120):
        metadata = {"country": "DE"} if i % 5 == 0 else {"device": "bot"} if i % 7 == 0 else {}
        body = {"experiment_id": eid, "context": {"id": f"visitor-{i}", "metadata": metadata}}
        chosen = (await tenant.post("/api/v1/select", body, 200)).json()
        served[chosen["reason"]] += 1
        by_reason_arm[(chosen["reason"], chosen["arm"]["index"])] += 1
        (policy_tokens if chosen["reason"] == "policy" else holdout_tokens).append(chosen["selection_token"])
    forced = (await tenant.post("/api/v1/select", {"experiment_id": eid, "force_arm": 1}, 200)).json()
    holdout_tokens.append(forced["selection_token"])
    served["forced"] += 1
    by_reason_arm[("forced", 1)] += 1
    assert {"policy", "rule:dach", "rule:bots", "rollout", "forced"} <= set(served), served
    # every visitor converts: the holdout ones would make their arms look perfect if they leaked
    for token in policy_tokens + holdout_tokens:
        await tenant.post("/api/v1/feedback", {"selection_token": token, "reward": 1}, 202)

    await drain(drainer)

    record = params_decoder.decode(await redis.get(app.state.redis_keys.params(eid)))
    # conversion mode: each policy exposure and each of its conversions trains; nothing else does
    assert record.events == 2 * len(policy_tokens)
    stats = (await tenant.get(f"/api/v1/experiments/{eid}/stats", 200)).json()
    assert sum(a["exposures"] for a in stats["arms"]) == len(policy_tokens)
    assert sum(a["reward_sum"] for a in stats["arms"]) == len(policy_tokens)
    holdout = stats["holdout"]
    assert holdout["exposures"] == holdout["feedbacks"] == len(holdout_tokens)
    assert holdout["mean"] == 1.0
    found = {(row["reason"], row["index"]): row["exposures"] for row in holdout["arms"]}
    expected = {key: n for key, n in by_reason_arm.items() if key[0] != "policy"}
    assert found == expected
    assert all(row["name"] == f"arm-{row['index']}" for row in holdout["arms"])

    # the results page shows the same holdout traffic, apart from the arms' results
    page = await PageSession(tenant.client).login(tenant.email)
    html = (await page.get(f"/experiments/{eid}/results")).text
    assert "Holdout / default traffic" in html
    assert f"In all: {len(holdout_tokens)} visitors" in html
