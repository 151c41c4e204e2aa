from __future__ import annotations

from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from app.settings import Settings
from tests.integration.conftest import Tenant


async def test_register_login_me(tenant: Tenant) -> None:
    me = (await tenant.get("/auth/me", 200)).json()
    assert me["email"] == tenant.email
    assert me["role"] == "owner"


async def test_register_twice_answers_like_success_and_changes_nothing(
    client: AsyncTestClient[Litestar], tenant: Tenant
) -> None:
    # the same status and shape as a new account: registration does not tell who has an account
    response = await client.post("/auth/register", json={"email": tenant.email, "password": "another password"})
    assert response.status_code == 201, response.text
    assert set(response.json()) == {"id", "email", "organization_id", "organization_name", "role"}
    me = (await tenant.get("/auth/me", 200)).json()
    assert response.json()["id"] != me["id"]
    # the account kept its password
    login = await client.post("/auth/login", json={"email": tenant.email, "password": "another password"})
    assert login.status_code == 401


async def test_bad_registrations_name_the_field(client: AsyncTestClient[Litestar]) -> None:
    cases = [
        ({"password": "long enough"}, "email"),  # missing field
        ({"email": "not-an-email", "password": "long enough"}, "email"),
        ({"email": "a@b.co", "password": "short"}, "password"),
        ({"email": 42, "password": "long enough"}, "email"),  # wrong type
    ]
    for body, field in cases:
        response = await client.post("/auth/register", json=body)
        assert response.status_code == 400, (body, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
        assert field in [e["field"] for e in response.json()["errors"]], response.text


async def test_wrong_password_is_401(client: AsyncTestClient[Litestar], tenant: Tenant) -> None:
    response = await client.post("/auth/login", json={"email": tenant.email, "password": "wrong password"})
    assert response.status_code == 401
    assert "wrong" in response.json()["detail"]


async def test_api_without_or_with_bad_token_is_401(client: AsyncTestClient[Litestar]) -> None:
    assert (await client.get("/api/v1/pools")).status_code == 401
    response = await client.get("/api/v1/pools", headers={"Authorization": "Bearer nonsense"})
    assert response.status_code == 401
    response = await client.get("/api/v1/pools", headers={"Authorization": "Bearer lv_not-a-real-key"})
    assert response.status_code == 401


async def test_api_key_shown_once_works_and_revocation_stops_it(
    client: AsyncTestClient[Litestar], tenant: Tenant
) -> None:
    created = (await tenant.post("/auth/api-keys", {"name": "ci"}, 201)).json()
    assert created["key"].startswith(created["prefix"])
    listed = (await tenant.get("/auth/api-keys", 200)).json()
    assert "key" not in listed[0]
    key_headers = {"Authorization": f"Bearer {created['key']}"}
    assert (await client.get("/api/v1/pools", headers=key_headers)).status_code == 200
    # an api key may run experiments but not mint more keys
    assert (await client.post("/auth/api-keys", json={"name": "x"}, headers=key_headers)).status_code == 403
    await tenant.post(f"/auth/api-keys/{created['id']}/revoke", {}, 200)
    assert (await client.get("/api/v1/pools", headers=key_headers)).status_code == 401


async def test_oversized_body_is_413(client: AsyncTestClient[Litestar]) -> None:
    body = {"email": "a@b.co", "password": "x" * 200_000}
    response = await client.post("/auth/register", json=body)
    assert response.status_code == 413


async def test_listing_api_keys_shows_their_last_use_and_writes_nothing(
    client: AsyncTestClient[Litestar], tenant: Tenant, settings: Settings
) -> None:
    created = (await tenant.post("/auth/api-keys", {"name": "reader"}, 201)).json()
    assert (await client.get("/api/v1/pools", headers={"Authorization": f"Bearer {created['key']}"})).status_code == 200
    engine = create_async_engine(settings.async_database_url)
    row_version = text("SELECT xmin::text, last_used_at FROM api_keys WHERE id = :id")
    try:
        async with engine.connect() as connection:
            before = (await connection.execute(row_version, {"id": created["id"]})).one()
        listed = {k["id"]: k for k in (await tenant.get("/auth/api-keys", 200)).json()}
        # the use the hot path noted in redis is shown...
        assert listed[created["id"]]["last_used_at"] is not None
        async with engine.connect() as connection:
            after = (await connection.execute(row_version, {"id": created["id"]})).one()
    finally:
        await engine.dispose()
    # ...but the row was not rewritten to show it
    assert after == before
    assert before.last_used_at is None
