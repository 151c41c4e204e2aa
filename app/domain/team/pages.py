from __future__ import annotations

from typing import Any
from uuid import UUID

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency, Provide
from litestar.enums import MediaType
from litestar.params import FromPath, URLEncodedBody
from litestar.plugins.htmx import HTMXTemplate
from litestar.response import Redirect, Template

from app.db.models import Membership, Role
from app.domain.accounts.sessions import open_session
from app.domain.team.api import invite_url
from app.domain.team.guards import current_member, live_session_principal
from app.domain.team.services import TeamService, provide_team_service
from app.lib.auth import Principal, requires_admin, requires_viewer
from app.lib.deps import provide_principal
from app.lib.errors import DomainError
from app.lib.throttle import client_address

Form = URLEncodedBody[dict[str, str]]
ROLE_HELP = {
    "owner": "everything, including giving and taking the owner role",
    "admin": "manages people and API keys, and everything an editor does",
    "editor": "creates, edits, starts and stops experiments and sites",
    "viewer": "sees results; changes nothing",
}


async def start_member_session(
    request: Request[Any, Any, Any], team: TeamService, membership: Membership, email: str
) -> None:
    await open_session(
        request, team.session, membership.user_id, membership.organization_id, membership.role.value, email
    )


class TeamPages(Controller):
    path = "/team"
    include_in_schema = False
    guards = [current_member, requires_viewer]
    dependencies = {
        "team": Provide(provide_team_service, sync_to_thread=False),
        "principal": Provide(provide_principal, sync_to_thread=False),
    }

    async def _page(
        self,
        team: TeamService,
        principal: Principal,
        *,
        new_link: str | None = None,
        errors: dict[str, str] | None = None,
        status_code: int = 200,
    ) -> Template:
        invitations = await team.invitations(principal) if principal.can(Role.ADMIN) else []
        return HTMXTemplate(
            template_name="team/list.html",
            status_code=status_code,
            context={
                "members": await team.members(principal),
                "invitations": invitations,
                "principal": principal,
                "roles": ROLE_HELP,
                "new_link": new_link,
                "errors": errors or {},
            },
        )

    @get()
    async def list_page(self, team: NamedDependency[TeamService], principal: NamedDependency[Principal]) -> Template:
        return await self._page(team, principal)

    @post("/invitations", guards=[requires_admin])
    async def invite(
        self,
        data: Form,
        team: NamedDependency[TeamService],
        principal: NamedDependency[Principal],
        request: Request[Any, Any, Any],
    ) -> Template:
        try:
            role = Role(data.get("role", "editor"))
            _, token = await team.invite(principal, role, data.get("email"))
        except ValueError:
            return await self._page(team, principal, errors={"role": "Choose a role."}, status_code=422)
        except DomainError as exc:
            return await self._page(team, principal, errors={"role": exc.message}, status_code=422)
        return await self._page(team, principal, new_link=invite_url(request, token), status_code=201)

    @post("/invitations/{invitation_id:uuid}/revoke", guards=[requires_admin])
    async def revoke(
        self, invitation_id: FromPath[UUID], team: NamedDependency[TeamService], principal: NamedDependency[Principal]
    ) -> Redirect:
        await team.revoke(principal, invitation_id)
        return Redirect("/team")

    @post("/members/{member_id:uuid}/role", guards=[requires_admin], media_type=MediaType.HTML)
    async def change_role(
        self,
        member_id: FromPath[UUID],
        data: Form,
        team: NamedDependency[TeamService],
        principal: NamedDependency[Principal],
    ) -> Any:
        try:
            await team.change_role(principal, member_id, Role(data.get("role", "")))
        except ValueError:
            return await self._page(team, principal, errors={str(member_id): "Choose a role."}, status_code=422)
        except DomainError as exc:
            return await self._page(team, principal, errors={str(member_id): exc.message}, status_code=422)
        return Redirect("/team")

    @post("/members/{member_id:uuid}/remove", guards=[requires_admin], media_type=MediaType.HTML)
    async def remove(
        self, member_id: FromPath[UUID], team: NamedDependency[TeamService], principal: NamedDependency[Principal]
    ) -> Any:
        try:
            await team.remove(principal, member_id)
        except DomainError as exc:
            return await self._page(team, principal, errors={str(member_id): exc.message}, status_code=422)
        return Redirect("/team")


class InvitePages(Controller):
    """the link an invitee opens: join with the current account, or create one."""

    path = "/invite"
    include_in_schema = False
    dependencies = {"team": Provide(provide_team_service, sync_to_thread=False)}

    async def _page(
        self,
        team: TeamService,
        token: str,
        request: Request[Any, Any, Any],
        values: dict[str, str] | None = None,
        errors: dict[str, str] | None = None,
        status_code: int = 200,
    ) -> Template:
        pending = await team.pending(token)
        principal = await live_session_principal(request)
        return HTMXTemplate(
            template_name="team/invite.html",
            status_code=status_code,
            context={
                "token": token,
                "organization": pending.organization,
                "role": pending.invitation.role.value,
                "role_help": ROLE_HELP[pending.invitation.role.value],
                "signed_in_as": request.session.get("email") if principal else None,
                "values": values or {"email": pending.invitation.email or ""},
                "errors": errors or {},
                "principal": None,
            },
        )

    @get("/{token:str}")
    async def show(self, token: FromPath[str], team: NamedDependency[TeamService], request: Request) -> Template:
        return await self._page(team, token, request)

    @post("/{token:str}", media_type=MediaType.HTML)
    async def accept(
        self, token: FromPath[str], data: Form, team: NamedDependency[TeamService], request: Request
    ) -> Any:
        throttle = request.app.state.get("throttle")
        if throttle is not None:
            await throttle.address("invite", client_address(request))
        principal = await live_session_principal(request)
        try:
            if principal is not None and principal.user_id is not None:
                user = await team.user(principal.user_id)
                membership = await team.accept(token, user)
                email = user.email
            else:
                email = data.get("email", "").strip().lower()
                if "@" not in email:
                    return await self._page(
                        team, token, request, {"email": email}, {"email": "Enter a valid email address."}, 422
                    )
                membership = await team.join_as_new_user(token, email, data.get("password", ""))
        except DomainError as exc:
            field = exc.field if exc.field in ("email", "password") else "token"
            return await self._page(team, token, request, {"email": data.get("email", "")}, {field: exc.message}, 422)
        await start_member_session(request, team, membership, email)
        return Redirect("/experiments")
