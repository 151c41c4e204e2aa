from __future__ import annotations

from typing import Any
from urllib.parse import quote
from uuid import UUID

import msgspec
from litestar import Controller, Request, get, post
from litestar.di import NamedDependency, Provide
from litestar.enums import MediaType
from litestar.params import FromPath, URLEncodedBody
from litestar.plugins.htmx import HTMXTemplate
from litestar.response import Redirect, Template

from app.domain.accounts.schemas import Registration
from app.domain.accounts.services import AccountService, EmailNotConfirmedError, provide_account_service
from app.domain.accounts.sessions import close_session, open_session
from app.domain.team.guards import current_member, live_session_principal
from app.lib.auth import Principal, requires_admin, session_principal
from app.lib.deps import provide_principal
from app.lib.errors import DomainError, form_error
from app.lib.passwords import MIN_PASSWORD_LENGTH

Form = URLEncodedBody[dict[str, str]]


def _safe_next(target: str | None) -> str:
    # only local paths: an open redirect after login would help phishing
    if target and target.startswith("/") and not target.startswith("//"):
        return target
    return "/experiments"


async def _start_session(request: Request[Any, Any, Any], accounts: AccountService, account: Any) -> None:
    m = account.membership
    await open_session(request, accounts.session, account.user.id, m.organization_id, m.role.value, account.user.email)


class AccountPages(Controller):
    include_in_schema = False
    dependencies = {"accounts": Provide(provide_account_service, sync_to_thread=False)}

    @get("/")
    async def home(self, request: Request[Any, Any, Any]) -> Redirect:
        return Redirect("/experiments" if session_principal(request) else "/login")

    @get("/register")
    async def register_page(self) -> Template:
        return HTMXTemplate(template_name="accounts/register.html", context={"values": {}, "errors": {}})

    @post("/register", media_type=MediaType.HTML)
    async def register(
        self, data: Form, accounts: NamedDependency[AccountService], request: Request[Any, Any, Any]
    ) -> Any:
        values = {"email": data.get("email", ""), "organization_name": data.get("organization_name", "")}
        errors: dict[str, str] = {}
        try:
            form = msgspec.convert(
                {
                    "email": values["email"].strip(),
                    "password": data.get("password", ""),
                    "organization_name": values["organization_name"].strip() or None,
                },
                Registration,
            )
            await accounts.register(form.email, form.password, form.organization_name)
        except msgspec.ValidationError as exc:
            field, message = form_error(exc, "email")
            errors[field] = {
                "email": "Enter a valid email address.",
                "password": f"Use at least {MIN_PASSWORD_LENGTH} characters.",
            }.get(field, message)
        except DomainError as exc:
            errors[exc.field or "email"] = exc.message
        if errors:
            return HTMXTemplate(
                template_name="accounts/register.html", context={"values": values, "errors": errors}, status_code=422
            )
        # a new account and an email that already had one get the same answer, so the form can't be used to learn
        # who has an account: both go to the login page (the owner of an existing one is told out of band)
        return Redirect(f"/login?registered=1&email={quote(form.email)}")

    @get("/login")
    async def login_page(self, request: Request[Any, Any, Any]) -> Template:
        return HTMXTemplate(
            template_name="accounts/login.html",
            context={
                "values": {"email": request.query_params.get("email", "")[:320]},
                "errors": {},
                "next": request.query_params.get("next", ""),
                "registered": bool(request.query_params.get("registered")),
                "reset": bool(request.query_params.get("reset")),
                "verified": bool(request.query_params.get("verified")),
                "confirm_first": request.app.state.settings.require_email_verification,
            },
        )

    @post("/login", media_type=MediaType.HTML)
    async def login(
        self, data: Form, accounts: NamedDependency[AccountService], request: Request[Any, Any, Any]
    ) -> Any:
        email = data.get("email", "")
        try:
            account = await accounts.authenticate(email, data.get("password", ""))
        except EmailNotConfirmedError as exc:
            return HTMXTemplate(
                template_name="accounts/login.html",
                status_code=403,
                context={
                    "values": {"email": email},
                    "errors": {},
                    "unconfirmed": exc.message,
                    "next": data.get("next", ""),
                },
            )
        except DomainError as exc:
            return HTMXTemplate(
                template_name="accounts/login.html",
                status_code=401,
                context={"values": {"email": email}, "errors": {"password": exc.message}, "next": data.get("next", "")},
            )
        await _start_session(request, accounts, account)
        return Redirect(_safe_next(data.get("next")))

    @post("/logout")
    async def logout(self, accounts: NamedDependency[AccountService], request: Request[Any, Any, Any]) -> Redirect:
        await close_session(request, accounts.session)
        return Redirect("/login")

    @post("/logout/everywhere")
    async def logout_everywhere(
        self, accounts: NamedDependency[AccountService], request: Request[Any, Any, Any]
    ) -> Redirect:
        principal = await live_session_principal(request)
        if principal is not None and principal.user_id is not None:
            await accounts.log_out_everywhere(principal.user_id)
        request.clear_session()
        return Redirect("/login")


class ApiKeyPages(Controller):
    """api keys for servers: the secret is shown once, then only its prefix."""

    path = "/api-keys"
    include_in_schema = False
    guards = [current_member, requires_admin]
    dependencies = {
        "accounts": Provide(provide_account_service, sync_to_thread=False),
        "principal": Provide(provide_principal, sync_to_thread=False),
    }

    async def _page(
        self,
        accounts: AccountService,
        principal: Principal,
        *,
        created: dict[str, str] | None = None,
        errors: dict[str, str] | None = None,
        values: dict[str, str] | None = None,
        status_code: int = 200,
    ) -> Template:
        return HTMXTemplate(
            template_name="api_keys/list.html",
            status_code=status_code,
            context={
                "keys": await accounts.list_api_keys(principal),
                "principal": principal,
                "created": created,
                "errors": errors or {},
                "values": values or {},
            },
        )

    @get()
    async def list_page(
        self, accounts: NamedDependency[AccountService], principal: NamedDependency[Principal]
    ) -> Template:
        return await self._page(accounts, principal)

    @post()
    async def create(
        self, data: Form, accounts: NamedDependency[AccountService], principal: NamedDependency[Principal]
    ) -> Template:
        name = data.get("name", "").strip()
        if not name or len(name) > 200:
            errors = {"name": "Name the key after what uses it, e.g. “checkout backend”."}
            return await self._page(accounts, principal, errors=errors, values={"name": name}, status_code=422)
        api_key, secret = await accounts.create_api_key(principal, name)
        return await self._page(accounts, principal, created={"name": api_key.name, "key": secret}, status_code=201)

    @post("/{key_id:uuid}/revoke")
    async def revoke(
        self, key_id: FromPath[UUID], accounts: NamedDependency[AccountService], principal: NamedDependency[Principal]
    ) -> Redirect:
        await accounts.revoke_api_key(principal, key_id)
        return Redirect("/api-keys")
