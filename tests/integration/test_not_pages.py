"""the prefixes that are not dashboard pages: no session cookie, no csrf token, problem+json errors."""

from __future__ import annotations

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from app.lib.paths import NOT_PAGES

HTML = {"accept": "text/html"}


# litestar's openapi controller answers its own 404 under /schema
@pytest.mark.parametrize("prefix", [p for p in NOT_PAGES if p != "/schema"])
async def test_errors_under_a_non_page_prefix_are_problem_json(client: AsyncTestClient[Litestar], prefix: str) -> None:
    response = await client.get(prefix.rstrip("/") + "/no-such-thing", headers=HTML)
    assert response.status_code in (401, 404), response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert "set-cookie" not in response.headers


async def test_a_page_answers_html_and_a_page_post_needs_its_csrf_token(client: AsyncTestClient[Litestar]) -> None:
    missing = await client.get("/no-such-page", headers=HTML)
    assert missing.status_code == 404 and missing.headers["content-type"].startswith("text/html")
    refused = await client.post("/login", data={"email": "a@example.com", "password": "x"})
    assert refused.status_code == 403


async def test_machine_routes_take_posts_without_a_csrf_token(client: AsyncTestClient[Litestar]) -> None:
    # a wrong password is refused by the login itself (401), not by the csrf check (403)
    response = await client.post("/auth/login", json={"email": "nobody@example.com", "password": "wrong-password"})
    assert response.status_code == 401, response.text
