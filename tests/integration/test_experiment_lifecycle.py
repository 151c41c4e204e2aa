"""undo, archive, restore, duplicate and delete through the api: tenant-scoped, role-checked, and what the
hot path serves after each (archived and deleted experiments are withdrawn from the published config)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from litestar import Litestar
from redis.asyncio import Redis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

from app.runtime.publish import Publisher
from app.settings import Settings
from tests.integration.conftest import Tenant
from tests.integration.test_team_roles import join_by_link


def problem_field(response: Any) -> str:
    return str(response.json()["errors"][0]["field"])


async def published(app: Litestar, redis: Redis, experiment_id: str, what: str = "experiments") -> bool:
    """whether the hot path's published config (the redis hash every web process caches) holds it."""
    return bool(await redis.hexists(getattr(app.state.publisher.keys, what), experiment_id))


async def select(tenant: Tenant, experiment_id: str, visitor: str = "v1", **metadata: Any) -> Any:
    body = {"experiment_id": experiment_id, "context": {"id": visitor, "metadata": metadata}}
    return await tenant.post("/api/v1/select", body)


async def test_a_stop_and_a_winner_can_be_undone_once_within_the_window(tenant: Tenant, settings: Settings) -> None:
    experiment = await tenant.experiment(status="running")
    path = f"/api/v1/experiments/{experiment['id']}"
    assert experiment["undo_until"] is None
    # nothing to undo on a running experiment
    nothing = await tenant.post(f"{path}/undo", None, 409)
    assert problem_field(nothing) == "status"

    stopped = (await tenant.client.put(path, json={"status": "completed"}, headers=tenant.headers)).json()
    assert stopped["status"] == "completed" and stopped["undo_until"] is not None
    undone = (await tenant.post(f"{path}/undo", None, 200)).json()
    assert undone["status"] == "running" and undone["winner_index"] is None and undone["undo_until"] is None
    # undone once: a second undo has nothing left to take back
    assert problem_field(await tenant.post(f"{path}/undo", None, 409)) == "status"

    await tenant.client.put(path, json={"status": "paused"}, headers=tenant.headers)
    won = await tenant.client.put(path, json={"status": "completed", "winner_index": 1}, headers=tenant.headers)
    assert won.json()["winner_index"] == 1
    assert (await select(tenant, experiment["id"])).json()["reason"] == "winner"
    back = (await tenant.post(f"{path}/undo", None, 200)).json()
    assert back["status"] == "paused" and back["winner_index"] is None  # as it was before the winner

    # past the window the change stands
    await tenant.client.put(path, json={"status": "completed", "winner_index": 0}, headers=tenant.headers)
    engine = create_async_engine(settings.database_url)
    old = (datetime.now(UTC) - timedelta(minutes=11)).isoformat()
    async with engine.begin() as connection:
        await connection.execute(
            text(
                "update experiments set last_change = jsonb_set(last_change::jsonb, '{at}',"
                " to_jsonb(cast(:at as text))) where id = :id"
            ),
            {"at": old, "id": experiment["id"]},
        )
    await engine.dispose()
    late = await tenant.post(f"{path}/undo", None, 409)
    assert problem_field(late) == "status" and "10 minutes" in late.json()["detail"]
    assert (await tenant.get(path, 200)).json()["undo_until"] is None


async def test_archived_experiments_stop_being_served_and_come_back_on_restore(
    app: Litestar, redis: Redis, settings: Settings, tenant: Tenant
) -> None:
    experiment = await tenant.experiment(status="running")
    path = f"/api/v1/experiments/{experiment['id']}"
    gate = {
        "experiment_id": experiment["id"],
        "rules": [{"condition": {"attribute": "plan", "operator": "eq", "value": "pro"}, "action": "serve", "arm": 1}],
    }
    await tenant.post("/api/v1/gates", gate, 201)
    assert (await select(tenant, experiment["id"], plan="pro")).json()["reason"] == "rule:r1"

    # a running experiment is not archived by surprise
    running = await tenant.post(f"{path}/archive", None, 409)
    assert problem_field(running) == "status" and "pause or stop" in running.json()["detail"]

    await tenant.client.put(path, json={"status": "paused"}, headers=tenant.headers)
    archived = (await tenant.post(f"{path}/archive", None, 200)).json()
    assert archived["archived_at"] is not None and archived["status"] == "paused"
    assert not await published(app, redis, experiment["id"])
    assert not await published(app, redis, experiment["id"], "gates")
    assert (await select(tenant, experiment["id"])).status_code == 404
    # a republish from postgres (redis lost everything) leaves it out too
    engine = create_async_engine(settings.database_url)
    async with AsyncSession(engine) as session:
        await Publisher(redis, app.state.publisher.keys).everything(session)
    await engine.dispose()
    assert not await published(app, redis, experiment["id"])
    assert (await select(tenant, experiment["id"])).status_code == 404
    # it can't be started while archived, and the list filters it
    resumed = await tenant.client.put(path, json={"status": "running"}, headers=tenant.headers)
    assert resumed.status_code == 409 and problem_field(resumed) == "status"
    only = (await tenant.get("/api/v1/experiments?archived=true", 200)).json()
    assert [e["id"] for e in only] == [experiment["id"]]
    assert experiment["id"] not in [
        e["id"] for e in (await tenant.get("/api/v1/experiments?archived=false", 200)).json()
    ]
    assert (await tenant.get("/api/v1/experiments?archived=maybe")).status_code == 400
    assert (await tenant.get("/api/v1/experiments?status=finished")).status_code == 400

    restored = (await tenant.post(f"{path}/restore", None, 200)).json()
    assert restored["archived_at"] is None and restored["status"] == "paused"
    await tenant.client.put(path, json={"status": "running"}, headers=tenant.headers)
    assert await published(app, redis, experiment["id"])
    assert (await select(tenant, experiment["id"], plan="pro")).json()["reason"] == "rule:r1"  # the gate is back


async def test_duplicate_copies_arms_settings_and_targeting_into_a_draft(tenant: Tenant) -> None:
    pool = await tenant.post(
        "/api/v1/pools", {"name": "p", "arms": [{"name": "A"}, {"name": "B", "payload": {"text": "Buy"}}]}, 201
    )
    original = (
        await tenant.post(
            "/api/v1/experiments",
            {
                "name": "cta",
                "pool_id": pool.json()["id"],
                "traffic_percent": 40,
                "goal": {"type": "url", "url": "/thanks"},
            },
            201,
        )
    ).json()
    await tenant.client.put(
        f"/api/v1/experiments/{original['id']}", json={"status": "completed", "winner_index": 1}, headers=tenant.headers
    )
    rules = [{"condition": {"attribute": "path", "operator": "starts_with", "value": "/shop"}, "action": "exclude"}]
    await tenant.post("/api/v1/gates", {"experiment_id": original["id"], "rules": rules, "rollout_percent": 50}, 201)

    copy = (await tenant.post(f"/api/v1/experiments/{original['id']}/duplicate", None, 201)).json()
    assert copy["id"] != original["id"] and copy["key"] != original["key"] and copy["pool_id"] != original["pool_id"]
    assert copy["name"] == "Copy of cta" and copy["status"] == "draft"
    assert copy["winner_index"] is None and copy["started_at"] is None and copy["undo_until"] is None
    assert copy["traffic_percent"] == 40 and copy["goal"] == {"type": "url", "url": "/thanks"}
    arms = (await tenant.get(f"/api/v1/pools/{copy['pool_id']}", 200)).json()["arms"]
    assert [(a["name"], a["payload"]) for a in arms] == [("A", {}), ("B", {"text": "Buy"})]
    gates = (await tenant.get("/api/v1/gates", 200)).json()
    copied = [g for g in gates if g["experiment_id"] == copy["id"]]
    assert len(copied) == 1 and copied[0]["rollout_percent"] == 50
    assert copied[0]["rules"][0]["condition"]["value"] == "/shop"
    stats = (await tenant.get(f"/api/v1/experiments/{copy['id']}/stats", 200)).json()
    assert all(a["exposures"] == 0 for a in stats["arms"])


async def test_lifecycle_endpoints_are_tenant_scoped_and_role_checked(tenant: Tenant, other_tenant: Tenant) -> None:
    experiment = await tenant.experiment(status="running")
    await tenant.client.put(
        f"/api/v1/experiments/{experiment['id']}", json={"status": "paused"}, headers=tenant.headers
    )
    for action in ("undo", "archive", "restore", "duplicate"):
        theirs = await other_tenant.post(f"/api/v1/experiments/{experiment['id']}/{action}", None)
        assert theirs.status_code == 404 and problem_field(theirs) == "experiment_id", action
        bad_id = await tenant.post(f"/api/v1/experiments/not-a-uuid/{action}", None)
        assert bad_id.status_code in (400, 404), action
    invite = await tenant.post("/api/v1/team/invitations", {"role": "viewer", "email": "v@example.com"}, 201)
    _, viewer = await join_by_link(tenant.client, invite.json()["url"])
    for action in ("undo", "archive", "restore", "duplicate"):
        response = await tenant.client.post(f"/api/v1/experiments/{experiment['id']}/{action}", headers=viewer)
        assert response.status_code == 403, action
    assert (await tenant.get(f"/api/v1/experiments/{experiment['id']}", 200)).json()["archived_at"] is None


async def test_deleted_experiments_are_withdrawn_from_the_hot_path(app: Litestar, redis: Redis, tenant: Tenant) -> None:
    experiment = await tenant.experiment(status="running")
    assert (await select(tenant, experiment["id"])).status_code == 200
    response = await tenant.client.delete(f"/api/v1/experiments/{experiment['id']}", headers=tenant.headers)
    assert response.status_code == 204
    assert not await published(app, redis, experiment["id"])
    assert (await select(tenant, experiment["id"])).status_code == 404
    assert (await tenant.get(f"/api/v1/experiments/{experiment['id']}")).status_code == 404


async def test_days_running_stop_when_the_experiment_ends_not_when_it_is_archived_or_edited(
    tenant: Tenant, settings: Settings
) -> None:
    experiment = await tenant.experiment(status="running")
    path = f"/api/v1/experiments/{experiment['id']}"
    stopped = await tenant.client.put(path, json={"status": "completed"}, headers=tenant.headers)
    assert stopped.status_code == 200 and stopped.json()["days_running"] == 0
    # as if it had started ten days ago and been stopped three days after that
    engine = create_async_engine(settings.database_url)
    async with engine.begin() as connection:
        await connection.execute(
            text(
                "update experiments set started_at = now() - interval '10 days', ended_at = now() - interval '7 days'"
                " where id = :id"
            ),
            {"id": experiment["id"]},
        )
    await engine.dispose()
    assert (await tenant.get(path, 200)).json()["days_running"] == 3
    # archiving, restoring and renaming it later change nothing about how long it ran (each moved updated_at,
    # which the count used to stop at)
    await tenant.post(f"{path}/archive", None, 200)
    await tenant.post(f"{path}/restore", None, 200)
    renamed = await tenant.client.put(path, json={"name": "ran for three days"}, headers=tenant.headers)
    assert renamed.status_code == 200 and renamed.json()["days_running"] == 3
    listed = {e["id"]: e for e in (await tenant.get("/api/v1/experiments", 200)).json()}
    assert listed[experiment["id"]]["days_running"] == 3
