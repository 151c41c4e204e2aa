"""password reset by mailed link, end to end on real postgres and redis; the mail is read from the dev mailbox.

bad input tried: a short and a common new password (the link stays usable), two different passwords, a used link,
an expired link, a made-up and an overlong token, an email with no account, a malformed email, and a burst of
reset requests from one address (429).
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import secrets
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from redis.asyncio import Redis
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

from app.asgi import create_app
from app.db.models import AccountToken, TokenPurpose
from app.lib.mail import DevMailbox, Mail
from app.settings import Settings
from tests.conftest import scoped
from tests.integration.conftest import Tenant, register
from tests.integration.pages_support import PASSWORD, PageSession

NEW_PASSWORD = "a brand new long passphrase"


def mailbox(redis: Redis, settings: Settings) -> DevMailbox:
    """the app's dev mailbox, read through this test's own redis connection."""
    return DevMailbox(redis, settings.redis_prefix)


async def mail_to(box: DevMailbox, email: str, subject: str, count: int = 1) -> Mail:
    """the newest mail with this subject once `count` of them have arrived (delivery runs in the background)."""
    for _ in range(100):
        mails = [m for m in await box.messages(email) if m.subject == subject]
        if len(mails) >= count:
            return mails[0]
        await asyncio.sleep(0.02)
    raise AssertionError(f"no mail {subject!r} to {email}: {await box.messages(email)}")


async def mails_to(box: DevMailbox, email: str) -> list[Mail]:
    await asyncio.sleep(0.2)  # anything on its way has arrived
    return await box.messages(email)


def path_of(url: str) -> str:
    return re.sub(r"^https?://[^/]+", "", url)


async def test_reset_sets_a_new_password_ends_other_sessions_and_works_once(
    client: AsyncTestClient[Litestar], box: DevMailbox, tenant: Tenant, settings: Settings
) -> None:
    page = await PageSession(client).login(tenant.email, PASSWORD)
    assert (await page.get("/experiments")).status_code == 200
    other_device = dict(client.cookies)
    assert (await tenant.get("/auth/me")).status_code == 200
    await asyncio.sleep(1.1)  # access token times are whole seconds: the token predates the reset

    client.cookies.clear()
    anonymous = PageSession(client)
    assert (await anonymous.get("/forgot-password")).status_code == 200
    asked = await anonymous.post("/forgot-password", {"email": tenant.email.upper()})
    assert asked.status_code == 200 and "we've sent it a link" in asked.text
    mail = await mail_to(box, tenant.email, "Reset your Levers password")
    token = mail.link.rsplit("/", 1)[1]
    assert mail.link in mail.text and "30 minutes" in mail.text

    # stored hashed: the database holds the sha-256, never the secret
    engine = create_async_engine(settings.async_database_url)
    async with AsyncSession(engine) as db:
        stored = (await db.scalars(select(AccountToken.token_hash).where(AccountToken.email == tenant.email))).all()
    assert hashlib.sha256(token.encode()).hexdigest() in stored and token not in stored

    form = await anonymous.get(path_of(mail.link))
    assert form.status_code == 200 and 'name="password"' in form.text

    short = await anonymous.post(path_of(mail.link), {"password": "short", "password_again": "short"})
    assert short.status_code == 422 and 'id="password-error"' in short.text and "10 characters" in short.text
    common = await anonymous.post(path_of(mail.link), {"password": "password1234", "password_again": "password1234"})
    assert common.status_code == 422 and 'id="password-error"' in common.text
    differ = await anonymous.post(path_of(mail.link), {"password": NEW_PASSWORD, "password_again": NEW_PASSWORD + "x"})
    assert differ.status_code == 422 and 'id="password_again-error"' in differ.text

    done = await anonymous.post(path_of(mail.link), {"password": NEW_PASSWORD, "password_again": NEW_PASSWORD})
    assert done.status_code in (302, 303), done.text
    assert done.headers["location"].startswith("/login?reset=1")

    again = await anonymous.post(path_of(mail.link), {"password": NEW_PASSWORD, "password_again": NEW_PASSWORD})
    assert again.status_code == 410 and "expired or was used already" in again.text
    assert (await anonymous.get(path_of(mail.link))).status_code == 410

    # the session of the other device and the api access token no longer work
    client.cookies.clear()
    for name, value in other_device.items():
        client.cookies.set(name, value)
    stale = await client.get("/experiments", headers={"accept": "text/html"}, follow_redirects=False)
    assert stale.status_code in (302, 303) and stale.headers["location"].startswith("/login")
    for _ in range(50):
        if (await tenant.get("/auth/me")).status_code == 401:
            break
        await asyncio.sleep(0.05)
    assert (await tenant.get("/auth/me")).status_code == 401

    old = await client.post("/auth/login", json={"email": tenant.email, "password": PASSWORD})
    assert old.status_code == 401
    new = await client.post("/auth/login", json={"email": tenant.email, "password": NEW_PASSWORD})
    assert new.status_code == 200
    await engine.dispose()


async def test_reset_answers_alike_whether_or_not_the_email_has_an_account(
    client: AsyncTestClient[Litestar], box: DevMailbox, tenant: Tenant
) -> None:
    session = PageSession(client)
    nobody = f"nobody-{secrets.token_hex(4)}@example.com"
    known = await session.post("/forgot-password", {"email": tenant.email})
    unknown = await session.post("/forgot-password", {"email": nobody})
    assert known.status_code == unknown.status_code == 200
    assert known.text.replace(tenant.email, "EMAIL") == unknown.text.replace(nobody, "EMAIL")
    await mail_to(box, tenant.email, "Reset your Levers password")
    assert await mails_to(box, nobody) == []

    malformed = await session.post("/forgot-password", {"email": "not-an-email"})
    assert malformed.status_code == 422 and 'id="email-error"' in malformed.text


async def test_a_new_link_voids_the_older_one_and_an_expired_link_is_refused(
    client: AsyncTestClient[Litestar], box: DevMailbox, settings: Settings
) -> None:
    tenant = await register(client)
    session = PageSession(client)
    await session.post("/forgot-password", {"email": tenant.email})
    first = await mail_to(box, tenant.email, "Reset your Levers password")
    # a second request within the minute answers alike but sends nothing
    await session.post("/forgot-password", {"email": tenant.email})
    assert len([m for m in await mails_to(box, tenant.email) if m.subject.startswith("Reset")]) == 1
    await box.redis.delete(
        *[k async for k in box.redis.scan_iter(f"{settings.redis_prefix}throttle:reset-mail:*:once")]
    )
    await session.post("/forgot-password", {"email": tenant.email})
    second = await mail_to(box, tenant.email, "Reset your Levers password", count=2)
    assert second.link != first.link
    assert (await session.get(path_of(first.link))).status_code == 410

    engine = create_async_engine(settings.async_database_url)
    async with AsyncSession(engine) as db, db.begin():
        digest = hashlib.sha256(second.link.rsplit("/", 1)[1].encode()).hexdigest()
        await db.execute(
            update(AccountToken)
            .where(AccountToken.token_hash == digest)
            .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )
    await engine.dispose()
    expired = await session.post(path_of(second.link), {"password": NEW_PASSWORD, "password_again": NEW_PASSWORD})
    assert expired.status_code == 410
    assert (await client.post("/auth/login", json={"email": tenant.email, "password": PASSWORD})).status_code == 200

    for bogus in ("made-up", "x" * 500):
        assert (await session.get(f"/reset-password/{bogus}")).status_code == 410
        answer = await session.post(f"/reset-password/{bogus}", {"password": NEW_PASSWORD})
        assert answer.status_code == 410


@pytest.fixture
def box(redis: Redis, settings: Settings) -> DevMailbox:
    return mailbox(redis, settings)


@pytest.fixture
async def strict(settings: Settings) -> AsyncIterator[AsyncTestClient[Litestar]]:
    strict_settings = replace(scoped(settings, f"reset{secrets.token_hex(2)}"), auth_rate_limit_per_minute=5)
    async with AsyncTestClient(app=create_app(strict_settings)) as client:
        yield client


async def test_reset_requests_are_throttled_per_address(strict: AsyncTestClient[Litestar]) -> None:
    session = PageSession(strict)
    codes = []
    while len(codes) < 13 and 429 not in codes:
        answer = await session.post("/forgot-password", {"email": f"n-{secrets.token_hex(3)}@example.com"})
        codes.append(answer.status_code)
    assert codes[-1] == 429 and codes.count(200) >= 5, codes
    assert 1 <= int(answer.headers["retry-after"]) <= 60


async def test_the_dev_mailbox_exists_only_outside_production(
    client: AsyncTestClient[Litestar], box: DevMailbox, settings: Settings
) -> None:
    tenant = await register(client)
    await PageSession(client).post("/forgot-password", {"email": tenant.email})
    mail = await mail_to(box, tenant.email, "Reset your Levers password")
    box = await client.get(f"/dev/mailbox?to={tenant.email}")
    assert box.status_code == 200 and mail.link in box.text

    production = replace(scoped(settings, f"prod{secrets.token_hex(2)}"), env="production")
    async with AsyncTestClient(app=create_app(production)) as prod:
        assert (await prod.get("/dev/mailbox")).status_code == 404
        # no smtp in production: the page says reset mail can't be sent, and nothing is sent
        page = await prod.get("/forgot-password")
        assert "sends no mail" in page.text
    with_smtp = replace(scoped(settings, f"smtp{secrets.token_hex(2)}"), smtp_host="127.0.0.1")
    async with AsyncTestClient(app=create_app(with_smtp)) as real:
        assert (await real.get("/dev/mailbox")).status_code == 404


async def test_token_rows_are_per_purpose(
    client: AsyncTestClient[Litestar], box: DevMailbox, settings: Settings
) -> None:
    # a confirmation link is no reset link
    tenant = await register(client)
    confirm = await mail_to(box, tenant.email, "Confirm your email for Levers")
    token = confirm.link.rsplit("/", 1)[1]
    answer = await PageSession(client).post(
        f"/reset-password/{token}", {"password": NEW_PASSWORD, "password_again": NEW_PASSWORD}
    )
    assert answer.status_code == 410
    engine = create_async_engine(settings.async_database_url)
    async with AsyncSession(engine) as db:
        purposes = set((await db.scalars(select(AccountToken.purpose).where(AccountToken.email == tenant.email))).all())
    await engine.dispose()
    assert purposes == {TokenPurpose.VERIFY_EMAIL}
