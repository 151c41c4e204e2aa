"""select and feedback through the api, then the worker's training step, on the real stores."""

from __future__ import annotations

import math

from litestar import Litestar
from redis.asyncio import Redis

from app.lib.tokens import SelectionTokens
from app.runtime.records import params_decoder
from app.settings import Settings
from app.worker.drain import Drainer
from tests.integration.conftest import Tenant, drain


async def test_select_feedback_train_and_stats(tenant: Tenant, drainer: Drainer, redis: Redis, app: Litestar) -> None:
    experiment = await tenant.experiment(arms=3)
    tokens_by_arm: dict[int, list[str]] = {0: [], 1: [], 2: []}
    for i in range(30):
        body = {"experiment_id": experiment["id"], "context": {"id": f"visitor-{i}"}}
        selected = (await tenant.post("/api/v1/select", body, 200)).json()
        assert selected["reason"] == "policy" and selected["request_id"]
        tokens_by_arm[selected["arm"]["index"]].append(selected["selection_token"])
        assert selected["arm"]["name"] == f"arm-{selected['arm']['index']}"
    rewarded = 0
    for arm, tokens in tokens_by_arm.items():
        for token in tokens:
            reward = 1.0 if arm == 2 else 0.0
            accepted = (await tenant.post("/api/v1/feedback", {"selection_token": token, "reward": reward}, 202)).json()
            assert accepted == {"accepted": True, "duplicate": False, "request_id": accepted["request_id"]}
            rewarded += 1
    # a repeat is accepted but not counted again
    token = next(t for ts in tokens_by_arm.values() for t in ts)
    again = (await tenant.post("/api/v1/feedback", {"selection_token": token, "reward": 1.0}, 202)).json()
    assert again["duplicate"] is True

    await drain(drainer)

    stats = (await tenant.get(f"/api/v1/experiments/{experiment['id']}/stats", 200)).json()
    by_index = {a["index"]: a for a in stats["arms"]}
    assert sum(a["exposures"] for a in stats["arms"]) == 30
    assert sum(a["feedbacks"] for a in stats["arms"]) == rewarded == 30
    for arm, tokens in tokens_by_arm.items():
        assert by_index[arm]["exposures"] == len(tokens)
        assert by_index[arm]["feedbacks"] == len(tokens)
        assert by_index[arm]["reward_sum"] == (len(tokens) if arm == 2 else 0)
        assert by_index[arm]["ci_low"] <= by_index[arm]["mean"] <= by_index[arm]["ci_high"]
    assert stats["updated_at"] is not None

    raw = await redis.get(app.state.redis_keys.params(experiment["id"]))
    record = params_decoder.decode(raw)
    assert record.events == 30  # explicit mode: feedbacks train, exposures don't


async def test_conversion_mode_counts_exposures_as_trials(tenant: Tenant, drainer: Drainer) -> None:
    experiment = await tenant.experiment(reward_mode="conversion")
    tokens = []
    for _ in range(10):
        selected = (await tenant.post("/api/v1/select", {"experiment_id": experiment["id"]}, 200)).json()
        tokens.append(selected["selection_token"])
    for token in tokens[:4]:
        await tenant.post("/api/v1/feedback", {"selection_token": token, "reward": 1}, 202)
    bad = await tenant.post("/api/v1/feedback", {"selection_token": tokens[5], "reward": 3}, 422)
    assert bad.json()["errors"][0]["field"] == "reward"
    await drain(drainer)
    stats = (await tenant.get(f"/api/v1/experiments/{experiment['id']}/stats", 200)).json()
    assert sum(a["exposures"] for a in stats["arms"]) == 10
    assert sum(a["feedbacks"] for a in stats["arms"]) == 4
    overall = sum(a["reward_sum"] for a in stats["arms"]) / 10
    assert math.isclose(overall, 0.4)


async def test_bad_feedback_is_rejected_without_side_effects(
    tenant: Tenant, other_tenant: Tenant, settings: Settings, drainer: Drainer
) -> None:
    experiment = await tenant.experiment()
    selected = (await tenant.post("/api/v1/select", {"experiment_id": experiment["id"]}, 200)).json()
    token = selected["selection_token"]
    body, signature = token.split(".")
    forged = f"{body}.{'A' * len(signature)}"
    expired, _ = SelectionTokens(settings.secret_key).issue(
        tenant=experiment["id"], experiment=experiment["id"], arm=0, visitor="", propensity=0.5, ttl_seconds=-10
    )
    cases = [
        ({"selection_token": forged, "reward": 1}, 422, "selection_token"),
        ({"selection_token": "garbage", "reward": 1}, 422, "selection_token"),
        ({"selection_token": expired, "reward": 1}, 422, "selection_token"),
        ({"selection_token": token, "reward": "one"}, 400, "reward"),
        ({"selection_token": token}, 400, "reward"),
    ]
    for payload, status, field in cases:
        response = await tenant.post("/api/v1/feedback", payload)
        assert response.status_code == status, (payload, response.text)
        assert response.json()["errors"][0]["field"] == field, response.text
    # 1e999 overflows a float: refused, naming the body
    response = await tenant.client.post(
        "/api/v1/feedback",
        content=f'{{"selection_token": "{token}", "reward": 1e999}}'.encode(),
        headers={**tenant.headers, "content-type": "application/json"},
    )
    assert response.status_code == 400, response.text
    assert response.json()["errors"][0] == {"field": "body", "message": "Number out of range - at `$[...]`"}
    # raw NaN is not JSON: a 400, not a 500
    response = await tenant.client.post(
        "/api/v1/feedback",
        content=b'{"selection_token": "x", "reward": NaN}',
        headers={**tenant.headers, "content-type": "application/json"},
    )
    assert response.status_code == 400 and response.json()["errors"][0]["field"] == "body", response.text
    # another tenant's token is refused
    response = await other_tenant.post("/api/v1/feedback", {"selection_token": token, "reward": 1})
    assert response.status_code == 422
    await drain(drainer)
    stats = (await tenant.get(f"/api/v1/experiments/{experiment['id']}/stats", 200)).json()
    assert sum(a["feedbacks"] for a in stats["arms"]) == 0


async def test_select_bad_input(tenant: Tenant) -> None:
    draft = await tenant.experiment(status="draft")
    response = await tenant.post("/api/v1/select", {"experiment_id": draft["id"]}, 422)
    assert response.json()["errors"][0]["field"] == "experiment_id"
    response = await tenant.post("/api/v1/select", {"experiment_id": "nope"}, 400)
    assert response.json()["errors"][0]["field"] == "experiment_id"
    response = await tenant.post("/api/v1/select", {}, 400)
    assert response.json()["errors"][0]["field"] == "experiment_id"
    contextual = await tenant.experiment(protocol="lin_ucb", context_dim=3)
    response = await tenant.post("/api/v1/select", {"experiment_id": contextual["id"], "context": {"vector": [1, 2]}})
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "context.vector"
    # 1e999 would be infinity: the right length, but not a finite number; the json decoder already refuses it
    overflow = f'{{"experiment_id": "{contextual["id"]}", "context": {{"vector": [1, 1e999, 2]}}}}'
    headers = {**tenant.headers, "content-type": "application/json"}
    response = await tenant.client.post("/api/v1/select", content=overflow, headers=headers)
    assert response.status_code == 400, response.text
    assert response.json()["errors"][0]["field"] == "body"
    ok = await tenant.post("/api/v1/select", {"experiment_id": contextual["id"], "context": {"vector": [1, 0, 2]}}, 200)
    assert ok.json()["reason"] == "policy"


async def test_paused_and_completed_serve_fixed_arms_without_recording(tenant: Tenant, drainer: Drainer) -> None:
    experiment = await tenant.experiment(arms=3, control_index=1)
    put = tenant.client.put
    await put(f"/api/v1/experiments/{experiment['id']}", json={"status": "paused"}, headers=tenant.headers)
    paused = (await tenant.post("/api/v1/select", {"experiment_id": experiment["id"]}, 200)).json()
    assert paused["reason"] == "paused" and paused["arm"]["index"] == 1
    await put(
        f"/api/v1/experiments/{experiment['id']}",
        json={"status": "completed", "winner_index": 2},
        headers=tenant.headers,
    )
    won = (await tenant.post("/api/v1/select", {"experiment_id": experiment["id"]}, 200)).json()
    assert won["reason"] == "winner" and won["arm"]["index"] == 2
    await drain(drainer)
    stats = (await tenant.get(f"/api/v1/experiments/{experiment['id']}/stats", 200)).json()
    assert sum(a["exposures"] for a in stats["arms"]) == 0
