"""guardrails and automatic decisions on the real stores: an arm that harms a guardrail is paused (and the hot
path stops serving it), a clear winner ships, a clear loser is dropped, each on the experiment's audit trail."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import datetime
from typing import Any

from litestar import Litestar
from redis.asyncio import Redis
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

from app.db.models import AuditEntry, GuardrailStatsHourly
from app.runtime.publish import Publisher
from app.runtime.records import experiment_decoder
from app.settings import Settings
from app.worker.decide import review_all
from tests.integration.conftest import Tenant
from tests.integration.pages_support import PageSession, seed_rows
from tests.integration.test_tag_api import make_shop
from tests.integration.test_worker_attribution import run_worker


async def review(settings: Settings, app: Litestar, redis: Redis) -> int:
    engine = create_async_engine(settings.async_database_url)
    try:
        sessions = async_sessionmaker(engine, expire_on_commit=False)
        return await review_all(sessions, Publisher(redis, app.state.redis_keys))
    finally:
        await engine.dispose()


async def seed_goal(settings: Settings, experiment_id: str, goal: str, per_arm: list[int], start: datetime) -> None:
    rows = [
        {
            "experiment_id": experiment_id,
            "arm_index": arm,
            "goal": goal,
            "hour": start,
            "exposures": 0,
            "feedbacks": n,
            "reward_sum": float(n),
            "reward_sum_sq": float(n),
        }
        for arm, n in enumerate(per_arm)
    ]
    engine = create_async_engine(settings.async_database_url)
    async with AsyncSession(engine) as session, session.begin():
        await session.execute(insert(GuardrailStatsHourly), rows)
    await engine.dispose()


async def audit(settings: Settings, experiment_id: str) -> list[AuditEntry]:
    engine = create_async_engine(settings.async_database_url)
    async with AsyncSession(engine) as session:
        found = list(await session.scalars(select(AuditEntry).where(AuditEntry.experiment_id == experiment_id)))
    await engine.dispose()
    return found


async def test_another_tenants_audit_is_404(tenant: Tenant, other_tenant: Tenant) -> None:
    experiment = await tenant.experiment()
    assert (await other_tenant.get(f"/api/v1/experiments/{experiment['id']}/audit")).status_code == 404


async def test_guardrails_are_validated(tenant: Tenant) -> None:
    pool = (await tenant.pool(2))["id"]
    body: dict[str, Any] = {"name": "g", "pool_id": pool, "protocol": "beta_ts"}
    twice = [{"goal": "bounce", "better": "lower"}, {"goal": "bounce"}]
    response = await tenant.post("/api/v1/experiments", {**body, "guardrails": twice})
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "guardrails[1].goal"
    response = await tenant.post("/api/v1/experiments", {**body, "guardrails": [{"goal": "x", "tolerance": 2}]})
    assert response.status_code == 400 and "tolerance" in response.json()["errors"][0]["field"]
    response = await tenant.post("/api/v1/experiments", {**body, "guardrails": [{"goal": "x", "better": "up"}]})
    assert response.status_code == 400 and "better" in response.json()["errors"][0]["field"]


async def test_guardrail_feedback_is_counted_apart_and_never_trains(
    settings: Settings, tenant: Tenant, redis: Redis, app: Litestar
) -> None:
    experiment = await tenant.experiment(reward_mode="conversion", guardrails=[{"goal": "bounce", "better": "lower"}])
    eid = experiment["id"]
    tokens = [(await tenant.post("/api/v1/select", {"experiment_id": eid}, 200)).json() for _ in range(6)]
    for chosen in tokens:
        body = {"selection_token": chosen["selection_token"], "reward": 1, "goal": "bounce"}
        assert (await tenant.post("/api/v1/feedback", body, 202)).json()["duplicate"] is False
    repeat = {"selection_token": tokens[0]["selection_token"], "reward": 1, "goal": "bounce"}
    assert (await tenant.post("/api/v1/feedback", repeat, 202)).json()["duplicate"] is True
    unknown = await tenant.post("/api/v1/feedback", {**repeat, "goal": "newsletter"})
    assert unknown.status_code == 422 and unknown.json()["errors"][0]["field"] == "goal"

    await run_worker(settings)

    stats = (await tenant.get(f"/api/v1/experiments/{eid}/stats", 200)).json()
    assert sum(a["exposures"] for a in stats["arms"]) == 6 and sum(a["feedbacks"] for a in stats["arms"]) == 0
    engine = create_async_engine(settings.async_database_url)
    async with AsyncSession(engine) as session:
        rows = list(
            await session.scalars(select(GuardrailStatsHourly).where(GuardrailStatsHourly.experiment_id == eid))
        )
    await engine.dispose()
    served = Counter(t["arm"]["index"] for t in tokens)
    assert {r.arm_index: r.feedbacks for r in rows} == dict(served) and {r.goal for r in rows} == {"bounce"}
    params = await redis.get(app.state.redis_keys.params(eid))
    assert params is not None and b'"events":6' in params  # the six exposures trained it, the bounces did not


async def test_a_harmful_arm_is_paused_and_no_longer_served(
    settings: Settings, tenant: Tenant, redis: Redis, app: Litestar
) -> None:
    guardrails = [{"goal": "bounce", "better": "lower", "tolerance": 0.05}, {"goal": "add-to-cart"}]
    experiment = await tenant.experiment(arms=3, reward_mode="conversion", guardrails=guardrails)
    eid = experiment["id"]
    start = await seed_rows(settings.database_url, eid, [(2000, 100), (2000, 110), (2000, 105)], hours=1)
    # arm 1 bounces 40% against the control's 30%; arm 2 is as good as the control
    await seed_goal(settings, eid, "bounce", [600, 800, 610], start)
    await seed_goal(settings, eid, "add-to-cart", [200, 205, 198], start)

    assert await review(settings, app, redis) >= 1
    fetched = (await tenant.get(f"/api/v1/experiments/{eid}", 200)).json()
    assert [p["index"] for p in fetched["paused_arms"]] == [1]
    assert "guardrail “bounce”" in fetched["paused_arms"][0]["reason"]
    entries = await audit(settings, eid)
    assert [(e.action, e.arm_index, e.actor) for e in entries] == [("guardrail_pause", 1, "automatic")]
    assert entries[0].details["probability"] >= 0.95
    config = experiment_decoder.decode(await redis.hget(app.state.redis_keys.experiments, eid))
    assert config.paused_arms == [1]
    # a second look takes no new decision
    await review(settings, app, redis)
    assert len(await audit(settings, eid)) == 1

    # the hot path learns it from the published config, never from postgres
    for _ in range(100):
        runtime = app.state.hot_cache.experiments.get(eid)
        if runtime is not None and runtime.config.paused_arms == [1]:
            break
        await asyncio.sleep(0.05)
    served: Counter[int] = Counter()
    for i in range(150):
        chosen = (await tenant.post("/api/v1/select", {"experiment_id": eid, "context": {"id": f"v{i}"}}, 200)).json()
        served[chosen["arm"]["index"]] += 1
        assert chosen["reason"] == "policy"
    assert served[1] == 0 and served[0] > 0 and served[2] > 0

    page = await PageSession(tenant.client).login(tenant.email)
    html = (await page.get(f"/experiments/{eid}")).text
    assert 'data-paused-arm="1"' in html and "arm-1 is paused" in html and "guardrail “bounce”" in html
    assert 'data-action="guardrail_pause"' in html


async def test_auto_ship_and_auto_drop(settings: Settings, tenant: Tenant, redis: Redis, app: Litestar) -> None:
    ship = await tenant.experiment(reward_mode="conversion", auto_ship=True)
    await seed_rows(settings.database_url, ship["id"], [(2000, 80), (2000, 160)], hours=48)
    drop = await tenant.experiment(arms=3, reward_mode="conversion", auto_drop=True)
    await seed_rows(settings.database_url, drop["id"], [(3000, 150), (3000, 160), (3000, 40)], hours=24)
    off = await tenant.experiment(reward_mode="conversion")
    await seed_rows(settings.database_url, off["id"], [(2000, 80), (2000, 160)], hours=48)

    await review(settings, app, redis)

    shipped = (await tenant.get(f"/api/v1/experiments/{ship['id']}", 200)).json()
    assert shipped["status"] == "completed" and shipped["winner_index"] == 1
    assert [(e.action, e.arm_index) for e in await audit(settings, ship["id"])] == [("ship", 1)]
    config = experiment_decoder.decode(await redis.hget(app.state.redis_keys.experiments, ship["id"]))
    assert config.status == "completed" and config.winner_index == 1
    dropped = (await tenant.get(f"/api/v1/experiments/{drop['id']}", 200)).json()
    assert [p["index"] for p in dropped["paused_arms"]] == [2] and dropped["status"] == "running"
    assert [(e.action, e.arm_index) for e in await audit(settings, drop["id"])] == [("drop", 2)]
    # without automatic decisions nothing happens, whatever the data says
    assert (await tenant.get(f"/api/v1/experiments/{off['id']}", 200)).json()["status"] == "running"
    assert await audit(settings, off["id"]) == []
    page = await PageSession(tenant.client).login(tenant.email)
    html = (await page.get(f"/experiments/{ship['id']}")).text
    assert 'data-action="ship"' in html and "Shipped" in html


async def test_arms_are_paused_and_resumed_by_hand(
    tenant: Tenant, redis: Redis, app: Litestar, settings: Settings
) -> None:
    experiment = await tenant.experiment(arms=3)
    eid = experiment["id"]
    put = lambda body: tenant.client.put(f"/api/v1/experiments/{eid}", json=body, headers=tenant.headers)  # noqa: E731
    control = await put({"paused_arms": [0]})
    assert control.status_code == 422 and control.json()["errors"][0]["field"] == "paused_arms[0]"
    assert (await put({"paused_arms": [5]})).json()["errors"][0]["field"] == "paused_arms[0]"
    paused = (await put({"paused_arms": [2]})).json()
    assert paused["paused_arms"][0]["index"] == 2 and paused["paused_arms"][0]["reason"] == "paused by hand"
    config = experiment_decoder.decode(await redis.hget(app.state.redis_keys.experiments, eid))
    assert config.paused_arms == [2]
    resumed = (await put({"paused_arms": []})).json()
    assert resumed["paused_arms"] == []
    config = experiment_decoder.decode(await redis.hget(app.state.redis_keys.experiments, eid))
    assert config.paused_arms == []
    entries = sorted(await audit(settings, eid), key=lambda e: e.created_at)
    assert [(e.action, e.arm_index) for e in entries] == [("manual_pause", 2), ("resume", 2)]
    assert all(e.actor.startswith("user:") for e in entries)
    listed = (await tenant.get(f"/api/v1/experiments/{eid}/audit", 200)).json()
    assert [(r["action"], r["arm_index"]) for r in listed] == [("resume", 2), ("manual_pause", 2)]  # newest first


async def test_a_returning_visitor_leaves_a_paused_arm(tenant: Tenant, app: Litestar) -> None:
    shop = await make_shop(tenant)
    eid = shop.experiment["id"]
    held = None
    for i in range(200):
        decision = (await shop.decide({"v": f"v{i}", "x": ["hero"]})).json()["d"][0]
        if decision["a"] == 1:
            held = decision
            break
    assert held is not None, "thompson sampling serves arm 1 to about half the visitors"
    await tenant.client.put(f"/api/v1/experiments/{eid}", json={"paused_arms": [1]}, headers=tenant.headers)
    for _ in range(100):
        runtime = app.state.hot_cache.experiments.get(eid)
        if runtime is not None and runtime.config.paused_arms == [1]:
            break
        await asyncio.sleep(0.05)
    again = (await shop.decide({"v": "returning", "x": ["hero"], "s": {"hero": held["t"]}})).json()["d"][0]
    assert again["a"] == 0 and again["t"] != held["t"]
