"""pages re-read the caller's membership, so a changed role or a removal applies on the next click."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException
from litestar.handlers.base import BaseRouteHandler
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models import Membership
from app.lib.auth import Principal, session_principal


async def current_member(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """refreshes the session's role from postgres (one indexed lookup per page view).

    api calls carry their role in a short-lived token or an api key and are left alone.
    """
    if isinstance(connection.scope.get("user"), Principal):
        return
    principal = session_principal(connection)
    if principal is None:
        raise NotAuthorizedException("log in first")
    role = await membership_role(connection.app.state.database, principal.organization_id, principal.user_id)
    session = connection.scope.get("session")
    if role is None:
        if isinstance(session, dict):
            session.clear()
        raise NotAuthorizedException("you are no longer a member of this organization; log in again")
    if isinstance(session, dict) and session.get("role") != role:
        session["role"] = role


async def membership_role(engine: Any, organization_id: UUID, user_id: UUID | None) -> str | None:
    async with AsyncSession(engine) as db:
        role = await db.scalar(
            select(Membership.role).where(Membership.organization_id == organization_id, Membership.user_id == user_id)
        )
    return role.value if role is not None else None
