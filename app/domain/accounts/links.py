"""links mailed to a user: password reset and email confirmation.

a link carries a 256-bit secret; only its sha-256 is stored. a link works once (using it and marking it used is
one conditional update, so two clicks racing cannot both pass) and expires: a reset after 30 minutes, a
confirmation after 3 days. asking for a new reset link voids the older ones.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models import AccountToken, TokenPurpose, User
from app.lib.mail import Mail, Outbox

RESET_TTL = timedelta(minutes=30)
VERIFY_TTL = timedelta(days=3)
TTL = {TokenPurpose.RESET_PASSWORD: RESET_TTL, TokenPurpose.VERIFY_EMAIL: VERIFY_TTL}
PATH = {TokenPurpose.RESET_PASSWORD: "/reset-password", TokenPurpose.VERIFY_EMAIL: "/verify-email"}
# the longest a link secret can be; anything longer is not one of ours and is not hashed or looked up
MAX_TOKEN_LENGTH = 128


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class MailLinks:
    """what building and sending a mailed link needs: the outbox and the public url the link starts with."""

    outbox: Outbox
    base_url: str


async def issue(session: AsyncSession, user: User, purpose: TokenPurpose) -> str:
    """a new link secret for the user; earlier unused links of the same purpose stop working."""
    await session.execute(
        delete(AccountToken).where(
            AccountToken.user_id == user.id, AccountToken.purpose == purpose, AccountToken.used_at.is_(None)
        )
    )
    token = secrets.token_urlsafe(32)
    session.add(
        AccountToken(
            user_id=user.id,
            purpose=purpose,
            token_hash=token_digest(token),
            email=user.email,
            expires_at=datetime.now(UTC) + TTL[purpose],
        )
    )
    await session.flush()
    return token


async def pending(session: AsyncSession, token: str, purpose: TokenPurpose) -> AccountToken | None:
    """the unused, unexpired link, without using it (a page shows its form; mail scanners fetch links too)."""
    if not token or len(token) > MAX_TOKEN_LENGTH:
        return None
    return await session.scalar(
        select(AccountToken).where(
            AccountToken.token_hash == token_digest(token),
            AccountToken.purpose == purpose,
            AccountToken.used_at.is_(None),
            AccountToken.expires_at > datetime.now(UTC),
        )
    )


async def consume(session: AsyncSession, token: str, purpose: TokenPurpose) -> AccountToken | None:
    """marks the link used and returns it, or None when it is unknown, expired or used already."""
    if not token or len(token) > MAX_TOKEN_LENGTH:
        return None
    now = datetime.now(UTC)
    used = await session.scalar(
        update(AccountToken)
        .where(
            AccountToken.token_hash == token_digest(token),
            AccountToken.purpose == purpose,
            AccountToken.used_at.is_(None),
            AccountToken.expires_at > now,
        )
        .values(used_at=now)
        .returning(AccountToken)
    )
    return used


def link(links: MailLinks, purpose: TokenPurpose, token: str) -> str:
    return f"{links.base_url}{PATH[purpose]}/{token}"


def reset_mail(to: str, url: str) -> Mail:
    minutes = int(RESET_TTL.total_seconds() // 60)
    text = (
        "Someone (we hope you) asked to reset the password of your Levers account.\n\n"
        f"Choose a new password here (the link works once, for {minutes} minutes):\n{url}\n\n"
        "Setting a new password logs you out everywhere else.\n"
        "If you did not ask for this, ignore this mail: your password stays as it is.\n"
    )
    return Mail(to=to, subject="Reset your Levers password", text=text, link=url)


def verify_mail(to: str, url: str) -> Mail:
    days = VERIFY_TTL.days
    text = (
        "Welcome to Levers. Confirm that this is your email address by opening this link "
        f"(it works once, for {days} days):\n{url}\n\n"
        "If you did not create a Levers account, ignore this mail.\n"
    )
    return Mail(to=to, subject="Confirm your email for Levers", text=text, link=url)


def already_registered_mail(to: str, base_url: str) -> Mail:
    url = f"{base_url}/forgot-password"
    text = (
        "Someone tried to create a Levers account with this email address, which already has one.\n\n"
        f"If it was you: log in at {base_url}/login, or reset your password here:\n{url}\n\n"
        "If it was not you, nothing has changed and you need do nothing.\n"
    )
    return Mail(to=to, subject="You already have a Levers account", text=text, link=url)


async def send_verification(session: AsyncSession, links: MailLinks, user: User) -> None:
    token = await issue(session, user, TokenPurpose.VERIFY_EMAIL)
    links.outbox.send(verify_mail(user.email, link(links, TokenPurpose.VERIFY_EMAIL, token)))


async def send_reset(session: AsyncSession, links: MailLinks, user: User) -> None:
    token = await issue(session, user, TokenPurpose.RESET_PASSWORD)
    links.outbox.send(reset_mail(user.email, link(links, TokenPurpose.RESET_PASSWORD, token)))


async def mark_verified(session: AsyncSession, user_id: object, email: str) -> None:
    """the user's email is confirmed, if it is still the address the link went to."""
    await session.execute(
        update(User)
        .where(User.id == user_id, User.email == email, User.email_verified_at.is_(None))
        .values(email_verified_at=datetime.now(UTC))
    )
