"""throttled anonymous doors (429 + Retry-After), password rules, private registration, logout that ends sessions."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace
from typing import Any
from urllib.parse import quote

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from app.asgi import create_app
from app.lib.passwords import common_passwords, password_problem
from app.settings import Settings
from tests.conftest import scoped
from tests.integration.conftest import Tenant, register
from tests.integration.pages_support import PASSWORD, PageSession


@pytest.fixture
async def strict(settings: Settings) -> AsyncIterator[AsyncTestClient[Litestar]]:
    """an app with the production throttle: 10 attempts a minute per address, back-off after 5 failures."""
    strict_settings = replace(
        scoped(settings, f"throttle{secrets.token_hex(2)}"), auth_rate_limit_per_minute=10, auth_free_failures=5
    )
    async with AsyncTestClient(app=create_app(strict_settings)) as client:
        yield client


async def _until_refused(attempt: Callable[[], Awaitable[Any]]) -> tuple[list[int], Any]:
    """attempts until a 429; the windows are whole minutes, so one may close during the loop (at most 21 tries)."""
    codes: list[int] = []
    response = None
    while len(codes) < 21 and 429 not in codes:
        response = await attempt()
        codes.append(response.status_code)
    return codes, response


async def test_login_attempts_per_address_are_throttled_with_retry_after(strict: AsyncTestClient[Litestar]) -> None:
    async def attempt() -> Any:
        email = f"nobody-{secrets.token_hex(4)}@example.com"  # a new account each time: only the address repeats
        return await strict.post("/auth/login", json={"email": email, "password": "a wrong password"})

    codes, response = await _until_refused(attempt)
    assert codes[:10] == [401] * 10 and codes[-1] == 429, codes
    assert 1 <= int(response.headers["retry-after"]) <= 60
    assert response.headers["content-type"].startswith("application/problem+json")


async def test_registration_and_the_dashboard_login_form_are_throttled(strict: AsyncTestClient[Litestar]) -> None:
    async def register_once() -> Any:
        body = {"email": f"new-{secrets.token_hex(4)}@example.com", "password": "correct horse battery"}
        return await strict.post("/auth/register", json=body)

    codes, _ = await _until_refused(register_once)
    assert codes[:10] == [201] * 10 and codes[-1] == 429, codes
    page = PageSession(strict)

    async def page_login() -> Any:
        email = f"nobody-{secrets.token_hex(4)}@example.com"
        return await page.post("/login", {"email": email, "password": "wrong password"})

    codes, response = await _until_refused(page_login)
    assert codes[:10] == [401] * 10 and codes[-1] == 429, codes
    assert "retry-after" in response.headers


async def test_failed_logins_back_off_exponentially_per_account(settings: Settings) -> None:
    # a high per-address limit: only the per-account back-off is at work
    app_settings = replace(scoped(settings, f"backoff{secrets.token_hex(2)}"), auth_free_failures=3)
    async with AsyncTestClient(app=create_app(app_settings)) as client:
        tenant = await register(client)
        wrong = {"email": tenant.email, "password": "not the password"}
        codes = [(await client.post("/auth/login", json=wrong)).status_code for _ in range(4)]
        assert codes == [401, 401, 401, 401]  # the 4th failure sets a 1 s lock
        locked = await client.post("/auth/login", json={"email": tenant.email, "password": "correct horse battery"})
        assert locked.status_code == 429  # even the right password waits out the lock
        assert locked.headers["retry-after"] == "1"
        # another account from the same address is not affected
        other = await register(client)  # registers and logs in: 200
        assert (await other.get("/auth/me")).status_code == 200


def test_password_rules() -> None:
    assert len(common_passwords()) >= 4000
    assert password_problem("short") is not None
    assert password_problem("qwertyuiop") is not None  # 10 characters, but among the most common
    assert password_problem("Password123") is not None  # case does not help
    assert password_problem("correct horse battery") is None


@pytest.mark.parametrize("password", ["123456789", "qwertyuiop", "1234567890"])
async def test_register_refuses_short_or_common_passwords(client: AsyncTestClient[Litestar], password: str) -> None:
    body = {"email": f"weak-{secrets.token_hex(4)}@example.com", "password": password}
    response = await client.post("/auth/register", json=body)
    assert response.status_code in (400, 422), response.text
    assert [e["field"] for e in response.json()["errors"]] == ["password"]


async def test_invitation_acceptance_refuses_common_passwords(tenant: Tenant) -> None:
    invite = await tenant.post("/api/v1/team/invitations", {"role": "viewer"}, 201)
    path = "/" + invite.json()["url"].split("://", 1)[1].split("/", 1)[1]
    page = PageSession(tenant.client)
    tenant.client.cookies.clear()
    await page.get(path)
    response = await page.post(path, {"email": f"inv-{secrets.token_hex(4)}@example.com", "password": "qwertyuiop"})
    assert response.status_code == 422
    assert "most common" in response.text


async def test_dashboard_register_of_an_existing_email_does_not_log_in(
    client: AsyncTestClient[Litestar], tenant: Tenant
) -> None:
    page = PageSession(client)
    client.cookies.clear()
    response = await page.post("/register", {"email": tenant.email, "password": "another long password"})
    assert response.status_code in (302, 303)
    assert response.headers["location"].startswith("/login")
    assert (await page.get("/experiments")).status_code in (302, 303)  # no session for someone else's account


async def test_dashboard_register_answers_a_new_and_a_taken_email_alike(
    client: AsyncTestClient[Litestar], tenant: Tenant
) -> None:
    """the form must not tell an attacker which emails have accounts: same status, same redirect, no session."""
    answers = []
    for email in (tenant.email, f"new-{secrets.token_hex(4)}@example.com"):
        client.cookies.clear()
        page = PageSession(client)
        response = await page.post("/register", {"email": email, "password": "another long password"})
        answers.append((response.status_code, response.headers["location"].replace(quote(email), "EMAIL")))
        assert (await page.get("/experiments")).status_code in (302, 303)  # neither gets a session
    assert answers[0] == answers[1] and answers[0][1] == "/login?registered=1&email=EMAIL"
    # the new account is real: it logs in with its password
    login = await client.post("/auth/login", json={"email": email, "password": "another long password"})
    assert login.status_code == 200


async def test_logout_ends_the_session_on_the_server(client: AsyncTestClient[Litestar], tenant: Tenant) -> None:
    page = await PageSession(client).login(tenant.email, PASSWORD)
    assert (await page.get("/experiments")).status_code == 200
    stolen = dict(client.cookies)  # what an attacker copied before the logout
    csrf = page.csrf
    assert (await page.post("/logout", {})).status_code in (302, 303)
    client.cookies.clear()
    for name, value in stolen.items():
        client.cookies.set(name, value)
    replay = await client.get("/experiments", headers={"accept": "text/html", **csrf}, follow_redirects=False)
    assert replay.status_code in (302, 303)
    assert replay.headers["location"].startswith("/login")


async def test_log_out_everywhere_ends_other_sessions_and_access_tokens(
    client: AsyncTestClient[Litestar], tenant: Tenant
) -> None:
    first = await PageSession(client).login(tenant.email, PASSWORD)
    first_cookies = dict(client.cookies)
    second = await PageSession(client).login(tenant.email, PASSWORD)  # another device
    assert (await second.get("/experiments")).status_code == 200
    assert (await tenant.get("/auth/me")).status_code == 200
    await asyncio.sleep(1.1)  # token times are whole seconds: the token predates the logout by at least one
    assert (await second.post("/logout/everywhere", {})).status_code in (302, 303)
    client.cookies.clear()
    for name, value in first_cookies.items():
        client.cookies.set(name, value)
    assert (await first.get("/experiments")).status_code in (302, 303)
    # the api access token issued before is refused once the change reaches the cache
    for _ in range(50):
        if (await tenant.get("/auth/me")).status_code == 401:
            break
        await asyncio.sleep(0.05)
    assert (await tenant.get("/auth/me")).status_code == 401


async def test_api_logout_everywhere_ends_dashboard_sessions(client: AsyncTestClient[Litestar]) -> None:
    tenant = await register(client)
    page = await PageSession(client).login(tenant.email, PASSWORD)
    assert (await page.get("/experiments")).status_code == 200
    assert (await tenant.post("/auth/logout-everywhere", {})).status_code == 204
    assert (await page.get("/experiments")).status_code in (302, 303)


async def test_invitation_acceptance_is_throttled(strict: AsyncTestClient[Litestar]) -> None:
    page = PageSession(strict)

    async def accept() -> Any:
        # a guessed link: the throttle answers before the token is even looked up
        return await page.post(f"/invite/inv_{secrets.token_hex(8)}", {"email": "a@example.com", "password": "x"})

    codes, response = await _until_refused(accept)
    assert codes[:10] == [404] * 10 and codes[-1] == 429, codes
    assert "retry-after" in response.headers
