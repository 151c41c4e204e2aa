from __future__ import annotations

from typing import Any
from uuid import UUID

from litestar import Controller, Request, delete, get, post, put
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, JSONBody
from litestar.status_codes import HTTP_201_CREATED

from app.db.models import Invitation as InvitationRow
from app.db.models import Membership, Role
from app.domain.sites.services import base_url_of
from app.domain.team.schemas import Invitation, InvitationCreate, InvitationCreated, Member, MemberUpdate
from app.domain.team.services import TeamService, provide_team_service
from app.lib.auth import Principal, requires_admin
from app.lib.deps import provide_principal
from app.lib.openapi import api_responses


def member_out(m: Membership) -> Member:
    return Member(id=m.id, user_id=m.user_id, email=m.user.email, role=m.role.value, joined_at=m.created_at)


def invitation_out(i: InvitationRow) -> Invitation:
    return Invitation(
        id=i.id,
        role=i.role.value,
        email=i.email,
        created_at=i.created_at,
        expires_at=i.expires_at,
        accepted_at=i.accepted_at,
        revoked_at=i.revoked_at,
    )


def invite_url(request: Request[Any, Any, Any], token: str) -> str:
    return f"{base_url_of(request)}/invite/{token}"


class TeamController(Controller):
    path = "/team"
    tags = ["team"]
    dependencies = {
        "team": Provide(provide_team_service, sync_to_thread=False),
        "principal": Provide(provide_principal, sync_to_thread=False),
    }

    @get("/members", responses=api_responses())
    async def list_members(
        self, team: NamedDependency[TeamService], principal: NamedDependency[Principal]
    ) -> list[Member]:
        """List the organization's members and their roles."""
        return [member_out(m) for m in await team.members(principal)]

    @put("/members/{member_id:uuid}", guards=[requires_admin], responses=api_responses(403, 404, 409, body=True))
    async def change_role(
        self,
        member_id: FromPath[UUID],
        data: JSONBody[MemberUpdate],
        team: NamedDependency[TeamService],
        principal: NamedDependency[Principal],
    ) -> Member:
        """Change a member's role; only an owner gives or takes the owner role."""
        return member_out(await team.change_role(principal, member_id, Role(data.role)))

    @delete("/members/{member_id:uuid}", guards=[requires_admin], responses=api_responses(400, 403, 404, 409))
    async def remove_member(
        self, member_id: FromPath[UUID], team: NamedDependency[TeamService], principal: NamedDependency[Principal]
    ) -> None:
        """Remove a member from the organization; the last owner stays."""
        await team.remove(principal, member_id)

    @post(
        "/invitations", status_code=HTTP_201_CREATED, guards=[requires_admin], responses=api_responses(403, body=True)
    )
    async def invite(
        self,
        data: JSONBody[InvitationCreate],
        team: NamedDependency[TeamService],
        principal: NamedDependency[Principal],
        request: Request[Any, Any, Any],
    ) -> InvitationCreated:
        """Invite someone with a role: returns the invitation link to send them."""
        invitation, token = await team.invite(principal, Role(data.role), data.email)
        out = invitation_out(invitation)
        return InvitationCreated(**{f: getattr(out, f) for f in out.__struct_fields__}, url=invite_url(request, token))

    @get("/invitations", guards=[requires_admin], responses=api_responses(403))
    async def list_invitations(
        self, team: NamedDependency[TeamService], principal: NamedDependency[Principal]
    ) -> list[Invitation]:
        """List the organization's invitations, pending or not."""
        return [invitation_out(i) for i in await team.invitations(principal)]

    @post(
        "/invitations/{invitation_id:uuid}/revoke",
        status_code=200,
        guards=[requires_admin],
        responses=api_responses(400, 403, 404),
    )
    async def revoke(
        self,
        invitation_id: FromPath[UUID],
        team: NamedDependency[TeamService],
        principal: NamedDependency[Principal],
    ) -> Invitation:
        """Revoke an invitation so its link no longer works."""
        return invitation_out(await team.revoke(principal, invitation_id))
