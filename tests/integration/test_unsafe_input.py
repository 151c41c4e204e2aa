"""NUL characters and deep nesting anywhere in a request are a 422 naming the field, never a 500."""

from __future__ import annotations

import json

from litestar import Litestar
from litestar.testing import AsyncTestClient

from tests.integration.conftest import Tenant
from tests.integration.pages_support import PageSession


async def test_nul_in_json_bodies_is_a_422_naming_the_field(client: AsyncTestClient[Litestar], tenant: Tenant) -> None:
    cases = [
        ("/auth/login", {"email": "a\x00@example.com", "password": "correct horse battery"}, "email"),
        ("/auth/register", {"email": "b@example.com", "password": "pass\x00word123"}, "password"),
        ("/api/v1/pools", {"name": "p", "arms": [{"name": "a"}, {"name": "b\x00"}]}, "arms[1].name"),
        ("/api/v1/sites", {"name": "s\x00"}, "name"),
    ]
    for path, body, field in cases:
        response = await client.post(path, content=json.dumps(body).encode(), headers=tenant.headers)
        assert response.status_code == 422, (path, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.json()["errors"][0]["field"] == field, response.text
    # nothing was stored on the way
    assert all(s["name"] != "s\x00" for s in (await tenant.get("/api/v1/sites", 200)).json())


async def test_deep_nesting_is_a_422_not_a_recursion_error(tenant: Tenant) -> None:
    experiment = await tenant.experiment()
    # json.dumps itself recurses: the text is built by hand
    metadata = '{"k":' * 5000 + "1" + "}" * 5000
    select = f'{{"experiment_id": "{experiment["id"]}", "context": {{"metadata": {metadata}}}}}'
    for path, content in [("/api/v1/select", select), ("/api/v1/pools", "[" * 40 + "1" + "]" * 40)]:
        response = await tenant.client.post(path, content=content.encode(), headers=tenant.headers)
        assert response.status_code == 422, (path, response.text[:300])
        assert response.json()["errors"][0]["field"] == "body"


async def test_nul_in_the_query_and_the_tag_body(client: AsyncTestClient[Litestar], tenant: Tenant) -> None:
    response = await tenant.get("/api/v1/gates?experiment_id=%00")  # a typed parameter: its type refuses it
    assert response.status_code == 400 and response.json()["errors"][0]["field"] == "experiment_id"
    site = (await tenant.post("/api/v1/sites", {"name": "s"}, 201)).json()
    body = json.dumps({"v": "visitor\x00", "x": []}).encode()
    response = await client.post(f"/p/{site['public_key']}/d", content=body, headers={"content-type": "text/plain"})
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "v", response.text


async def test_clean_bodies_still_pass(tenant: Tenant) -> None:
    # a literal backslash followed by u0000 is not a NUL
    site = await tenant.post("/api/v1/sites", {"name": "C:\\u0000 dir"}, 201)
    assert site.json()["name"] == "C:\\u0000 dir"


async def test_nul_in_a_dashboard_form_is_a_422_naming_the_field(client: AsyncTestClient[Litestar]) -> None:
    page = PageSession(client)
    response = await page.post("/login", {"email": "a\x00@example.com", "password": "correct horse battery"})
    assert response.status_code == 422, response.text[:300]
    assert response.json()["errors"][0]["field"] == "email"
