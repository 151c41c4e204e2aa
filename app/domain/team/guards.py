"""pages re-read the caller's membership and session, so a changed role, a removal or a logout applies at once."""

from __future__ import annotations

from typing import Any

from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException
from litestar.handlers.base import BaseRouteHandler
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.accounts.sessions import live_role, session_id
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
    async with AsyncSession(connection.app.state.database) as db:
        role = await live_role(db, principal.organization_id, principal.user_id, session_id(connection))
    session = connection.scope.get("session")
    if role is None:
        if isinstance(session, dict):
            session.clear()
        raise NotAuthorizedException("your session ended or you left this organization; log in again")
    if isinstance(session, dict) and session.get("role") != role:
        session["role"] = role


async def live_session_principal(connection: ASGIConnection[Any, Any, Any, Any]) -> Principal | None:
    """the session's principal when its session is still live (pages outside the guarded controllers)."""
    principal = session_principal(connection)
    if principal is None:
        return None
    async with AsyncSession(connection.app.state.database) as db:
        role = await live_role(db, principal.organization_id, principal.user_id, session_id(connection))
    return principal if role is not None else None
