"""outgoing mail: smtp in production, the log and a dev mailbox elsewhere.

a mailer delivers one `Mail`. handlers never wait for delivery: `Outbox.send` hands the mail to a background task,
so an answer takes the same time whether or not a mail went out (the reset and register forms must not tell
who has an account) and a slow smtp server holds no request. smtplib blocks, so it runs in a thread.
"""

from __future__ import annotations

import asyncio
import smtplib
import ssl
import time
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr
from typing import Protocol

import msgspec
import structlog
from redis.asyncio import Redis
from redis.exceptions import RedisError

from app.runtime.keys import RedisKeys
from app.runtime.redis import transaction
from app.settings import Settings

log = structlog.get_logger(__name__)

SMTP_TIMEOUT_SECONDS = 10.0
DEV_MAILBOX_SIZE = 50
DEV_MAILBOX_TTL_SECONDS = 24 * 3600


class Mail(msgspec.Struct, frozen=True):
    to: str
    subject: str
    text: str
    # the one link the mail is about (reset, confirm), so the dev mailbox can show it as a button
    link: str = ""
    sent_at: float = 0.0


class Mailer(Protocol):
    async def deliver(self, mail: Mail) -> None: ...


def sender(settings: Settings) -> str:
    if settings.mail_from:
        return settings.mail_from
    host = settings.base_url.split("://", 1)[-1].split("/", 1)[0].split(":", 1)[0] or "localhost"
    return f"Levers <no-reply@{host}>"


class SmtpMailer:
    def __init__(self, settings: Settings) -> None:
        self.host = settings.smtp_host
        self.port = settings.smtp_port
        self.username = settings.smtp_username
        self.password = settings.smtp_password
        self.security = settings.smtp_security
        self.sender = sender(settings)

    def message(self, mail: Mail) -> EmailMessage:
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = mail.to
        message["Subject"] = mail.subject
        message["Date"] = formatdate(localtime=False)
        domain = parseaddr(self.sender)[1].rpartition("@")[2] or None
        message["Message-ID"] = make_msgid(domain=domain)
        message.set_content(mail.text)
        return message

    def _send(self, message: EmailMessage) -> None:
        context = ssl.create_default_context()
        smtp: smtplib.SMTP
        if self.security == "ssl":
            smtp = smtplib.SMTP_SSL(self.host, self.port, timeout=SMTP_TIMEOUT_SECONDS, context=context)
        else:
            smtp = smtplib.SMTP(self.host, self.port, timeout=SMTP_TIMEOUT_SECONDS)
        with smtp:
            if self.security == "starttls":
                smtp.starttls(context=context)
            if self.username:
                smtp.login(self.username, self.password)
            smtp.send_message(message)

    async def deliver(self, mail: Mail) -> None:
        await asyncio.to_thread(self._send, self.message(mail))
        log.info("mail sent", to=mail.to, subject=mail.subject)


class DevMailbox:
    """development and tests: each mail goes to the log and to a short list in redis that /dev/mailbox shows.

    redis rather than memory, so every web process (and a test reading the box) sees the same mail.
    """

    def __init__(self, redis: Redis, prefix: str) -> None:
        self.redis = redis
        self.key = RedisKeys.dev_mailbox(prefix)

    async def deliver(self, mail: Mail) -> None:
        log.info("mail (development: not sent)", to=mail.to, subject=mail.subject, text=mail.text)
        # one key, so one slot: on a cluster it goes as a plain pipeline to its node (redis-py has no
        # transactions there, and refused this write with an exception no delivery error handler knew)
        async with transaction(self.redis) as pipe:
            pipe.lpush(self.key, msgspec.json.encode(mail))
            pipe.ltrim(self.key, 0, DEV_MAILBOX_SIZE - 1)
            pipe.expire(self.key, DEV_MAILBOX_TTL_SECONDS)
            await pipe.execute()

    async def messages(self, to: str | None = None) -> list[Mail]:
        """newest first; only those to `to` when given."""
        raw = await self.redis.lrange(self.key, 0, DEV_MAILBOX_SIZE - 1)  # type: ignore[misc]
        mails = [msgspec.json.decode(item, type=Mail) for item in raw]
        return [m for m in mails if to is None or m.to == to.strip().lower()]


class NoMailer:
    """production without SMTP_HOST: nothing is sent, and the mail's text (it holds secret links) is not logged."""

    async def deliver(self, mail: Mail) -> None:
        log.warning("mail not sent: SMTP_HOST is not set", to=mail.to, subject=mail.subject)


def build_mailer(settings: Settings, redis: Redis, prefix: str) -> Mailer:
    if settings.smtp_host:
        return SmtpMailer(settings)
    if settings.is_production:
        log.warning("SMTP_HOST is not set: levers sends no mail (password reset is unavailable)")
        return NoMailer()
    return DevMailbox(redis, prefix)


def can_send(mailer: Mailer) -> bool:
    return not isinstance(mailer, NoMailer)


class Outbox:
    """delivers mail in the background; a failed delivery is logged, never raised into a request."""

    def __init__(self, mailer: Mailer) -> None:
        self.mailer = mailer
        self._pending: set[asyncio.Task[None]] = set()

    def send(self, mail: Mail) -> None:
        mail = msgspec.structs.replace(mail, to=mail.to.strip().lower(), sent_at=mail.sent_at or time.time())
        task = asyncio.get_running_loop().create_task(self._deliver(mail))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def _deliver(self, mail: Mail) -> None:
        try:
            await self.mailer.deliver(mail)
        except (OSError, smtplib.SMTPException, RedisError) as exc:
            log.error("mail delivery failed", to=mail.to, subject=mail.subject, error=str(exc))

    async def drain(self) -> None:
        """waits for mail still being delivered (at shutdown, so a reset link asked for is not lost)."""
        if self._pending:
            await asyncio.gather(*self._pending, return_exceptions=True)
