"""the pages of password reset and email confirmation, and the development mailbox."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency, Provide
from litestar.enums import MediaType
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, URLEncodedBody
from litestar.plugins.htmx import HTMXTemplate
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.accounts.links import RESET_TTL
from app.domain.accounts.recovery import EXPIRED, RecoveryService
from app.domain.accounts.services import provide_account_service
from app.lib.errors import DomainError
from app.lib.mail import DevMailbox, can_send
from app.lib.passwords import MIN_PASSWORD_LENGTH

Form = URLEncodedBody[dict[str, str]]


def provide_recovery(db_session: NamedDependency[AsyncSession], request: Request[Any, Any, Any]) -> RecoveryService:
    return RecoveryService(provide_account_service(db_session, request))


def _mail_works(request: Request[Any, Any, Any]) -> bool:
    mailer = request.app.state.get("mailer")
    return mailer is not None and can_send(mailer)


class RecoveryPages(Controller):
    include_in_schema = False
    dependencies = {"recovery": Provide(provide_recovery, sync_to_thread=False)}

    @get("/forgot-password")
    async def forgot_page(self, request: Request[Any, Any, Any]) -> Template:
        values = {"email": request.query_params.get("email", "")[:320]}
        return HTMXTemplate(
            template_name="accounts/forgot.html",
            context={"values": values, "errors": {}, "sent": False, "mail_works": _mail_works(request)},
        )

    @post("/forgot-password", media_type=MediaType.HTML)
    async def forgot(
        self, data: Form, recovery: NamedDependency[RecoveryService], request: Request[Any, Any, Any]
    ) -> Template:
        email = data.get("email", "").strip()
        context: dict[str, Any] = {"values": {"email": email}, "errors": {}, "mail_works": _mail_works(request)}
        if "@" not in email or len(email) > 320:
            context["errors"] = {"email": "Enter the email address you log in with."}
            return HTMXTemplate(
                template_name="accounts/forgot.html", context={**context, "sent": False}, status_code=422
            )
        await recovery.request_reset(email)
        # the same page whether or not an account has this email
        minutes = int(RESET_TTL.total_seconds() // 60)
        return HTMXTemplate(template_name="accounts/forgot.html", context={**context, "sent": True, "minutes": minutes})

    @get("/reset-password/{token:str}")
    async def reset_page(self, token: FromPath[str], recovery: NamedDependency[RecoveryService]) -> Template:
        valid = await recovery.reset_is_pending(token)
        return HTMXTemplate(
            template_name="accounts/reset.html",
            context={"token": token, "valid": valid, "errors": {} if valid else {"token": EXPIRED}},
            status_code=200 if valid else 410,
        )

    @post("/reset-password/{token:str}", media_type=MediaType.HTML)
    async def reset(self, token: FromPath[str], data: Form, recovery: NamedDependency[RecoveryService]) -> Any:
        password = data.get("password", "")
        errors: dict[str, str] = {}
        if password != data.get("password_again", password):
            errors["password_again"] = "The two passwords differ: type the same one twice."
        else:
            try:
                user = await recovery.reset_password(token, password)
            except DomainError as exc:
                field = exc.field if exc.field == "token" else "password"
                message = exc.message
                if field == "password" and len(password) < MIN_PASSWORD_LENGTH:
                    message = f"Use at least {MIN_PASSWORD_LENGTH} characters."
                errors[field] = message
        if errors:
            return HTMXTemplate(
                template_name="accounts/reset.html",
                context={"token": token, "valid": "token" not in errors, "errors": errors},
                status_code=410 if "token" in errors else 422,
            )
        return Redirect(f"/login?reset=1&email={quote(user.email)}")

    @get("/verify-email/{token:str}")
    async def verify_page(self, token: FromPath[str], recovery: NamedDependency[RecoveryService]) -> Template:
        # a page with a button rather than confirming on open: mail scanners open links too
        valid = await recovery.verify_is_pending(token)
        return HTMXTemplate(
            template_name="accounts/verify.html",
            context={"token": token, "valid": valid, "errors": {} if valid else {"token": EXPIRED}},
            status_code=200 if valid else 410,
        )

    @post("/verify-email/{token:str}", media_type=MediaType.HTML)
    async def verify(self, token: FromPath[str], recovery: NamedDependency[RecoveryService]) -> Any:
        try:
            email = await recovery.verify_email(token)
        except DomainError as exc:
            return HTMXTemplate(
                template_name="accounts/verify.html",
                context={"token": token, "valid": False, "errors": {"token": exc.message}},
                status_code=410,
            )
        return Redirect(f"/login?verified=1&email={quote(email)}")


class DevMailboxPages(Controller):
    """development only (never registered in production): the mail levers would have sent, newest first."""

    path = "/dev/mailbox"
    include_in_schema = False

    @get()
    async def mailbox(self, request: Request[Any, Any, Any]) -> Template:
        mailer = request.app.state.get("mailer")
        if not isinstance(mailer, DevMailbox):
            raise NotFoundException("no development mailbox: this server sends real mail")
        to = request.query_params.get("to") or None
        return HTMXTemplate(
            template_name="dev/mailbox.html", context={"mails": await mailer.messages(to), "to": to or ""}
        )
