"""email confirmation for new accounts (on where REQUIRE_EMAIL_VERIFICATION is, as in production with smtp), and
the smtp mailer against a real smtp server.

bad input tried: logging in before confirming (page and api), a voided and a used confirmation link, registering
an email that already has an account.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from dataclasses import replace

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from redis.asyncio import Redis

from app.asgi import create_app
from app.lib.mail import DevMailbox
from app.settings import Settings
from tests.conftest import scoped
from tests.integration.pages_support import PASSWORD, PageSession
from tests.integration.test_password_reset import NEW_PASSWORD, mail_to, mails_to, path_of
from tests.support.smtp_sink import SmtpSink

CONFIRM = "Confirm your email for Levers"


@pytest.fixture
async def verifying(settings: Settings, redis: Redis) -> AsyncIterator[tuple[AsyncTestClient[Litestar], DevMailbox]]:
    local = replace(scoped(settings, f"verify{secrets.token_hex(2)}"), require_email_verification=True)
    async with AsyncTestClient(app=create_app(local)) as client:
        yield client, DevMailbox(redis, local.redis_prefix)


async def test_a_new_account_logs_in_only_after_confirming_its_email(
    verifying: tuple[AsyncTestClient[Litestar], DevMailbox],
) -> None:
    client, box = verifying
    email = f"new-{secrets.token_hex(4)}@example.com"
    assert (await client.post("/auth/register", json={"email": email, "password": PASSWORD})).status_code == 201
    first = await mail_to(box, email, CONFIRM)

    api = await client.post("/auth/login", json={"email": email, "password": PASSWORD})
    assert api.status_code == 403 and api.headers["content-type"].startswith("application/problem+json")
    assert api.json()["errors"][0]["field"] == "email"

    page = PageSession(client)
    await client.get("/login")
    refused = await page.post("/login", {"email": email, "password": PASSWORD})
    assert refused.status_code == 403 and 'id="unconfirmed"' in refused.text and "Confirm your email" in refused.text
    # the first refused login sent a fresh link (voiding the first); the next ones within 5 minutes send none
    fresh = await mail_to(box, email, CONFIRM, count=2)
    await page.post("/login", {"email": email, "password": PASSWORD})
    assert len(await mails_to(box, email)) == 2
    # a wrong password says nothing about confirmation
    wrong = await page.post("/login", {"email": email, "password": "not the password at all"})
    assert wrong.status_code == 401 and "Confirm" not in wrong.text

    assert (await page.get(path_of(first.link))).status_code == 410
    shown = await page.get(path_of(fresh.link))
    assert shown.status_code == 200 and "Confirm my email" in shown.text
    confirmed = await page.post(path_of(fresh.link), {})
    assert confirmed.status_code in (302, 303) and confirmed.headers["location"].startswith("/login?verified=1")
    assert (await page.post(path_of(fresh.link), {})).status_code == 410

    await PageSession(client).login(email, PASSWORD)
    assert (await page.get("/experiments")).status_code == 200
    assert (await client.post("/auth/login", json={"email": email, "password": PASSWORD})).status_code == 200


async def test_registering_a_taken_email_mails_its_owner_and_answers_alike(
    verifying: tuple[AsyncTestClient[Litestar], DevMailbox],
) -> None:
    client, box = verifying
    email = f"taken-{secrets.token_hex(4)}@example.com"
    page = PageSession(client)
    await client.get("/register")
    new = await page.post("/register", {"email": email, "password": PASSWORD})
    taken = await page.post("/register", {"email": email, "password": "another long password"})
    assert new.status_code == taken.status_code and new.headers["location"] == taken.headers["location"]
    notice = await mail_to(box, email, "You already have a Levers account")
    assert "/forgot-password" in notice.link
    login = await client.get(new.headers["location"])
    assert "confirm your address" in login.text


async def test_a_password_reset_confirms_the_email(verifying: tuple[AsyncTestClient[Litestar], DevMailbox]) -> None:
    client, box = verifying
    email = f"reset-{secrets.token_hex(4)}@example.com"
    await client.post("/auth/register", json={"email": email, "password": PASSWORD})
    page = PageSession(client)
    await page.post("/forgot-password", {"email": email})
    mail = await mail_to(box, email, "Reset your Levers password")
    done = await page.post(path_of(mail.link), {"password": NEW_PASSWORD, "password_again": NEW_PASSWORD})
    assert done.status_code in (302, 303)
    assert (await client.post("/auth/login", json={"email": email, "password": NEW_PASSWORD})).status_code == 200


async def test_smtp_mailer_sends_the_confirmation_through_a_real_smtp_server(settings: Settings) -> None:
    sink = await SmtpSink().start()
    local = replace(
        scoped(settings, f"smtp{secrets.token_hex(2)}"),
        smtp_host=sink.host,
        smtp_port=sink.port,
        smtp_security="none",
        smtp_username="levers",
        smtp_password="smtp secret",
        mail_from="Levers <levers@example.com>",
        base_url="https://levers.example.com",
        require_email_verification=True,
    )
    try:
        async with AsyncTestClient(app=create_app(local)) as client:
            email = f"smtp-{secrets.token_hex(4)}@example.com"
            assert (await client.post("/auth/register", json={"email": email, "password": PASSWORD})).status_code == 201
            received = await sink.next_mail()
            assert received.recipients == [email] and received.sender == "levers@example.com"
            assert received.login == ("levers", "smtp secret")
            assert received.message["Subject"] == CONFIRM and received.message["Message-ID"]
            body = received.message.get_content()
            link = next(word for word in body.split() if word.startswith("https://levers.example.com/verify-email/"))
            page = PageSession(client)
            await client.get("/login")
            assert (await page.post(path_of(link), {})).status_code in (302, 303)
            assert (await client.post("/auth/login", json={"email": email, "password": PASSWORD})).status_code == 200
    finally:
        await sink.stop()
