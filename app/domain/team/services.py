"""members and invitations; owners and admins manage people, only owners touch the owner role."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from litestar import Request
from litestar.di import NamedDependency
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models import Invitation, Membership, Organization, Role, User
from app.domain.accounts.services import check_new_password
from app.lib.auth import Principal
from app.lib.errors import ConflictError, NotFoundError, PermissionDeniedError
from app.lib.passwords import hash_password
from app.runtime.publish import Publisher

INVITE_PREFIX = "inv_"
INVITE_TTL = timedelta(days=7)


def hash_invite(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class PendingInvite:
    invitation: Invitation
    organization: Organization


class TeamService:
    def __init__(
        self, session: AsyncSession, publisher: Publisher | None = None, token_ttl_seconds: int = 3600
    ) -> None:
        self.session = session
        # a role change or a removal also ends the member's live api access tokens (see Publisher.member_changed)
        self.publisher = publisher
        self.token_ttl_seconds = token_ttl_seconds

    async def members(self, principal: Principal) -> list[Membership]:
        rows = await self.session.scalars(
            select(Membership)
            .where(Membership.organization_id == principal.organization_id)
            .order_by(Membership.created_at)
        )
        return list(rows.unique())

    async def _member(self, principal: Principal, membership_id: UUID) -> Membership:
        member = await self.session.scalar(
            select(Membership).where(
                Membership.id == membership_id, Membership.organization_id == principal.organization_id
            )
        )
        if member is None:
            raise NotFoundError("no such member", field="member_id")
        return member

    async def _owners(self, organization_id: UUID) -> int:
        return int(
            await self.session.scalar(
                select(func.count()).where(Membership.organization_id == organization_id, Membership.role == Role.OWNER)
            )
            or 0
        )

    def _check_owner_rules(self, principal: Principal, current: Role, target: Role | None) -> None:
        if Role.OWNER in (current, target) and principal.role != Role.OWNER:
            raise PermissionDeniedError("only an owner can give or take the owner role", field="role")

    async def change_role(self, principal: Principal, membership_id: UUID, role: Role) -> Membership:
        member = await self._member(principal, membership_id)
        self._check_owner_rules(principal, member.role, role)
        if member.role == Role.OWNER and role != Role.OWNER and await self._owners(member.organization_id) <= 1:
            raise ConflictError("the organization needs at least one owner", field="role")
        member.role = role
        await self.session.flush()
        await self._revoke_tokens(member)
        return member

    async def _revoke_tokens(self, member: Membership) -> None:
        if self.publisher is not None:
            await self.publisher.member_changed(
                member.organization_id, member.user_id, self.token_ttl_seconds, session=self.session
            )

    async def remove(self, principal: Principal, membership_id: UUID) -> None:
        member = await self._member(principal, membership_id)
        self._check_owner_rules(principal, member.role, None)
        if member.role == Role.OWNER and await self._owners(member.organization_id) <= 1:
            raise ConflictError("the organization needs at least one owner", field="member_id")
        await self.session.delete(member)
        await self.session.flush()
        await self._revoke_tokens(member)

    async def invite(self, principal: Principal, role: Role, email: str | None) -> tuple[Invitation, str]:
        self._check_owner_rules(principal, Role.VIEWER, role)
        token = INVITE_PREFIX + secrets.token_urlsafe(32)
        invitation = Invitation(
            organization_id=principal.organization_id,
            created_by_id=principal.user_id,
            role=role,
            email=(email or "").strip().lower() or None,
            token_hash=hash_invite(token),
            expires_at=datetime.now(UTC) + INVITE_TTL,
        )
        self.session.add(invitation)
        await self.session.flush()
        return invitation, token

    async def invitations(self, principal: Principal) -> list[Invitation]:
        rows = await self.session.scalars(
            select(Invitation)
            .where(
                Invitation.organization_id == principal.organization_id,
                Invitation.accepted_at.is_(None),
                Invitation.revoked_at.is_(None),
                Invitation.expires_at > datetime.now(UTC),
            )
            .order_by(Invitation.created_at.desc())
        )
        return list(rows)

    async def revoke(self, principal: Principal, invitation_id: UUID) -> Invitation:
        invitation = await self.session.scalar(
            select(Invitation).where(
                Invitation.id == invitation_id, Invitation.organization_id == principal.organization_id
            )
        )
        if invitation is None:
            raise NotFoundError("no such invitation", field="invitation_id")
        if invitation.revoked_at is None and invitation.accepted_at is None:
            invitation.revoked_at = datetime.now(UTC)
            await self.session.flush()
        return invitation

    async def pending(self, token: str) -> PendingInvite:
        invitation = await self.session.scalar(select(Invitation).where(Invitation.token_hash == hash_invite(token)))
        if (
            invitation is None
            or invitation.accepted_at is not None
            or invitation.revoked_at is not None
            or invitation.expires_at <= datetime.now(UTC)
        ):
            raise NotFoundError("this invitation link is unknown, used, revoked or expired", field="token")
        organization = await self.session.get(Organization, invitation.organization_id)
        assert organization is not None  # the foreign key cascades
        return PendingInvite(invitation, organization)

    async def accept(self, token: str, user: User) -> Membership:
        pending = await self.pending(token)
        invitation = pending.invitation
        existing = await self.session.scalar(
            select(Membership).where(
                Membership.organization_id == invitation.organization_id, Membership.user_id == user.id
            )
        )
        if existing is not None:
            raise ConflictError(f"you are already a member of {pending.organization.name}", field="token")
        membership = Membership(user=user, organization=pending.organization, role=invitation.role)
        self.session.add(membership)
        invitation.accepted_at = datetime.now(UTC)
        invitation.accepted_by_id = user.id
        await self.session.flush()
        return membership

    async def join_as_new_user(self, token: str, email: str, password: str) -> Membership:
        await self.pending(token)
        email = email.strip().lower()
        if await self.session.scalar(select(User.id).where(User.email == email)):
            raise ConflictError("an account with this email exists: log in to accept", field="email")
        check_new_password(password)
        user = User(email=email, password_hash=await hash_password(password))
        self.session.add(user)
        await self.session.flush()
        return await self.accept(token, user)

    async def user(self, user_id: UUID) -> User:
        user = await self.session.get(User, user_id)
        if user is None:
            raise NotFoundError("no such user")
        return user


def provide_team_service(db_session: NamedDependency[AsyncSession], request: Request[Any, Any, Any]) -> TeamService:
    state = request.app.state
    return TeamService(db_session, state.get("publisher"), state.settings.jwt_ttl_seconds)
