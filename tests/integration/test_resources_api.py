"""pools, experiments and sites: crud, validation, and that another tenant's ids are 404."""

from __future__ import annotations

import uuid

from tests.integration.conftest import Tenant


async def test_pool_crud(tenant: Tenant) -> None:
    pool = await tenant.pool(3)
    assert [a["index"] for a in pool["arms"]] == [0, 1, 2]
    fetched = (await tenant.get(f"/api/v1/pools/{pool['id']}", 200)).json()
    assert fetched["arms"][1]["metadata"] == {"i": 1}
    response = await tenant.client.put(f"/api/v1/pools/{pool['id']}", json={"name": "renamed"}, headers=tenant.headers)
    assert response.status_code == 200 and response.json()["name"] == "renamed"
    assert (await tenant.client.delete(f"/api/v1/pools/{pool['id']}", headers=tenant.headers)).status_code == 204
    await tenant.get(f"/api/v1/pools/{pool['id']}", 404)


async def test_pool_validation(tenant: Tenant) -> None:
    one_arm = await tenant.post("/api/v1/pools", {"name": "p", "arms": [{"name": "a"}]}, 400)
    assert one_arm.json()["errors"][0]["field"] == "arms"
    twice = await tenant.post("/api/v1/pools", {"name": "p", "arms": [{"name": "a"}, {"name": "a"}]}, 422)
    assert twice.json()["errors"][0]["field"] == "arms[1].name"
    bad_change = await tenant.post(
        "/api/v1/pools", {"name": "p", "arms": [{"name": "a", "payload": {"script": "x"}}, {"name": "b"}]}, 422
    )
    assert bad_change.json()["errors"][0]["field"] == "arms[0].payload"
    # unsafe changes are refused at the api too, not only sanitised by the tag
    unsafe = [
        ({"redirect": "javascript:alert(1)"}, "arms[0].payload.redirect"),
        ({"redirect": " DATA:text/html,x"}, "arms[0].payload.redirect"),
        ({"attributes": {"onclick": "steal()"}}, "arms[0].payload.attributes.onclick"),
        ({"attributes": {"href": "javascript:void(0)"}}, "arms[0].payload.attributes.href"),
        ({"attributes": {"title": 3}}, "arms[0].payload.attributes.title"),
        ({"style": {"background": "url(https://evil.example/x)"}}, "arms[0].payload.style.background"),
    ]
    for payload, field in unsafe:
        body = {"name": "p", "arms": [{"name": "a", "payload": payload}, {"name": "b"}]}
        response = await tenant.post("/api/v1/pools", body, 422)
        assert response.json()["errors"][0]["field"] == field, payload
    safe = {"redirect": "/checkout?x=1", "attributes": {"href": "https://shop.example/a"}, "style": {"color": "red"}}
    await tenant.post("/api/v1/pools", {"name": "p", "arms": [{"name": "a", "payload": safe}, {"name": "b"}]}, 201)


async def test_experiment_lifecycle_and_validation(tenant: Tenant) -> None:
    experiment = await tenant.experiment()
    assert experiment["status"] == "running" and experiment["reward_mode"] == "explicit"
    draft = await tenant.experiment(status="draft")
    assert draft["status"] == "draft"
    put = tenant.client.put
    response = await put(f"/api/v1/experiments/{experiment['id']}", json={"status": "paused"}, headers=tenant.headers)
    assert response.json()["status"] == "paused"
    response = await put(
        f"/api/v1/experiments/{experiment['id']}", json={"status": "completed"}, headers=tenant.headers
    )
    assert response.json()["status"] == "completed"
    response = await put(f"/api/v1/experiments/{experiment['id']}", json={"status": "running"}, headers=tenant.headers)
    assert response.status_code == 409 and response.json()["errors"][0]["field"] == "status"
    response = await put(f"/api/v1/experiments/{draft['id']}", json={"status": "bogus"}, headers=tenant.headers)
    assert response.status_code == 400 and response.json()["errors"][0]["field"] == "status"


async def test_experiment_bad_input_names_the_field(tenant: Tenant) -> None:
    pool = await tenant.pool()
    cases = [
        ({"name": "e", "pool_id": pool["id"], "protocol": "no_such_policy"}, 422, "protocol"),
        ({"name": "e", "pool_id": str(uuid.uuid4())}, 404, "pool_id"),
        ({"name": "e", "pool_id": "not-a-uuid"}, 400, "pool_id"),
        ({"name": "e", "pool_id": pool["id"], "reward_mode": "sometimes"}, 400, "reward_mode"),
        ({"name": "e", "pool_id": pool["id"], "traffic_percent": 101}, 400, "traffic_percent"),
        ({"name": "e", "pool_id": pool["id"], "control_index": 5}, 422, "control_index"),
        ({"name": "e", "pool_id": pool["id"], "protocol_params": {"no_such_param": 1}}, 422, "protocol_params."),
        ({"name": "e", "pool_id": pool["id"], "protocol": "lin_ucb"}, 422, "context_dim"),
        ({"pool_id": pool["id"]}, 400, "name"),
    ]
    for body, status, field in cases:
        response = await tenant.post("/api/v1/experiments", body)
        assert response.status_code == status, (body, response.text)
        fields = [e["field"] for e in response.json()["errors"]]
        assert any(f.startswith(field) for f in fields), (body, fields)


async def test_another_tenants_resources_are_404(tenant: Tenant, other_tenant: Tenant) -> None:
    experiment = await tenant.experiment()
    site = (await tenant.post("/api/v1/sites", {"name": "s", "allowed_origins": ["https://a.example"]}, 201)).json()
    await other_tenant.get(f"/api/v1/experiments/{experiment['id']}", 404)
    await other_tenant.get(f"/api/v1/experiments/{experiment['id']}/stats", 404)
    await other_tenant.get(f"/api/v1/pools/{experiment['pool_id']}", 404)
    await other_tenant.get(f"/api/v1/sites/{site['id']}", 404)
    response = await other_tenant.post("/api/v1/experiments", {"name": "x", "pool_id": experiment["pool_id"]})
    assert response.status_code == 404
    response = await other_tenant.client.delete(f"/api/v1/experiments/{experiment['id']}", headers=other_tenant.headers)
    assert response.status_code == 404
    assert (await other_tenant.get("/api/v1/experiments", 200)).json() == []
    await other_tenant.post("/api/v1/select", {"experiment_id": experiment["id"]}, 404)


async def test_sites(tenant: Tenant) -> None:
    created = await tenant.post("/api/v1/sites", {"name": "shop", "allowed_origins": ["https://Shop.example/"]}, 201)
    site = created.json()
    assert site["allowed_origins"] == ["https://shop.example"]
    assert site["public_key"] in site["snippet"] and site["tag_url"].endswith(f"/t/{site['public_key']}.js")
    bad = await tenant.post("/api/v1/sites", {"name": "shop", "allowed_origins": ["shop.example/path"]}, 400)
    assert bad.json()["errors"][0]["field"].startswith("allowed_origins")


async def test_openapi_and_health(tenant: Tenant) -> None:
    schema = (await tenant.get("/schema/openapi.json", 200)).json()
    assert "/api/v1/select" in schema["paths"]
    assert (await tenant.get("/healthz", 200)).json() == {"status": "ok"}
    ready = (await tenant.get("/readyz", 200)).json()
    assert ready["checks"] == {"postgres": "ok", "migrations": "ok", "redis": "ok"}
