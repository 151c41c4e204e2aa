"""bad input is a 4xx naming the field, never a 500: NUL bytes, deep nesting, strings where numbers belong."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from tests.integration.conftest import Tenant
from tests.integration.pages_support import PageSession

NUL = "a\x00b"
PASSWORD = "correct horse battery"


def _field(response: Any) -> str:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    return response.json()["errors"][0]["field"]


async def test_nul_bytes_anywhere_are_422_naming_the_field(client: AsyncTestClient[Litestar], tenant: Tenant) -> None:
    pool = await tenant.pool()
    experiment = await tenant.experiment()
    cases: list[tuple[str, str, dict[str, Any], str, bool]] = [
        (
            "post",
            "/auth/register",
            {"email": f"x{NUL}@example.com", "password": "correct horse battery"},
            "email",
            False,
        ),
        ("post", "/auth/login", {"email": f"x{NUL}@example.com", "password": "whatever it is"}, "email", False),
        ("post", "/api/v1/pools", {"name": NUL, "arms": [{"name": "a"}, {"name": "b"}]}, "name", True),
        (
            "post",
            "/api/v1/pools",
            {"name": "p", "arms": [{"name": "a"}, {"name": "b", "metadata": {"k": NUL}}]},
            "arms[1].metadata.k",
            True,
        ),
        (
            "post",
            "/api/v1/pools",
            {"name": "p", "arms": [{"name": "a", "metadata": {NUL: 1}}, {"name": "b"}]},
            "arms[0].metadata.a\\u0000b",
            True,
        ),
        ("put", f"/api/v1/pools/{pool['id']}", {"name": NUL}, "name", True),
        (
            "post",
            "/api/v1/sites",
            {"name": "s", "allowed_origins": [f"https://a{NUL}.example"]},
            "allowed_origins[0]",
            True,
        ),
        ("post", "/api/v1/select", {"experiment_id": experiment["id"], "context": {"id": NUL}}, "context.id", True),
        (
            "post",
            "/api/v1/select",
            {"experiment_id": experiment["id"], "context": {"metadata": {"plan": NUL}}},
            "context.metadata.plan",
            True,
        ),
        (
            "post",
            "/api/v1/gates",
            {
                "experiment_id": experiment["id"],
                "rules": [
                    {
                        "id": "r",
                        "condition": {"attribute": "plan", "operator": "eq", "value": NUL},
                        "action": "serve",
                        "arm": 0,
                    }
                ],
            },
            "rules[0].condition.value",
            True,
        ),
        ("post", "/api/v1/team/invitations", {"role": "viewer", "email": f"a{NUL}@example.com"}, "email", True),
        ("post", "/auth/api-keys", {"name": NUL}, "name", True),
    ]
    for method, path, body, field, authed in cases:
        headers = tenant.headers if authed else {}
        response = await getattr(client, method)(path, json=body, headers=headers)
        assert _field(response) == field, (path, response.text)


async def test_nul_in_a_dashboard_form_is_422(client: AsyncTestClient[Litestar]) -> None:
    page = PageSession(client)
    client.cookies.clear()
    response = await page.post("/login", {"email": NUL, "password": "whatever it is"})
    assert response.status_code == 422


@pytest.mark.parametrize("depth", [5000, 40])
async def test_deeply_nested_json_is_422_not_a_recursion_error(tenant: Tenant, depth: int) -> None:
    experiment = await tenant.experiment()
    nested = '{"a":' * depth + "1" + "}" * depth
    body = f'{{"experiment_id": "{experiment["id"]}", "context": {{"metadata": {{"deep": {nested}}}}}}}'
    response = await tenant.client.post(
        "/api/v1/select", content=body, headers={**tenant.headers, "content-type": "application/json"}
    )
    assert _field(response) == "body"


async def test_metadata_eight_levels_deep_is_accepted(tenant: Tenant) -> None:
    experiment = await tenant.experiment()
    await asyncio.sleep(0.3)  # the hot cache picks the experiment up
    nested: Any = 1
    for _ in range(8):
        nested = {"a": nested}
    body = {"experiment_id": experiment["id"], "context": {"id": "v", "metadata": {"deep": nested}}}
    response = await tenant.post("/api/v1/select", body)
    assert response.status_code == 200, response.text


async def test_a_reward_sent_as_a_string_is_422(tenant: Tenant) -> None:
    experiment = await tenant.experiment()
    await asyncio.sleep(0.3)
    selected = await tenant.post("/api/v1/select", {"experiment_id": experiment["id"], "context": {"id": "v"}}, 200)
    token = selected.json()["selection_token"]
    response = await tenant.post("/api/v1/feedback", {"selection_token": token, "reward": "1"})
    assert _field(response) == "reward"
    assert (await tenant.post("/api/v1/feedback", {"selection_token": token, "reward": 1})).status_code == 202


async def test_select_metadata_is_bounded_in_size_and_keys(tenant: Tenant) -> None:
    experiment = await tenant.experiment()

    async def select(metadata: dict[str, Any]) -> Any:
        body = {"experiment_id": experiment["id"], "context": {"id": "v1", "metadata": metadata}}
        return await tenant.post("/api/v1/select", body)

    # 20 KB of attributes in a few keys: over the 16 KB cap, though far under the body limit
    too_big = await select({f"k{i}": "x" * 5000 for i in range(4)})
    assert _field(too_big) == "context.metadata"
    too_many = await select({f"k{i}": i for i in range(65)})
    assert too_many.status_code in (400, 422) and "context.metadata" in too_many.text, too_many.text
    fine = await select({f"k{i}": "x" * 100 for i in range(60)})
    assert fine.status_code == 200, fine.text
