"""dashboard sessions that the server can end.

the session cookie is signed and client-side, so by itself it would keep working for its 7 days after logout.
each login therefore writes a `user_sessions` row and puts its id in the cookie; the page guard serves a cookie
only while its row exists (one indexed lookup, folded into the membership check every page already does).
logout deletes the row; "log out everywhere" deletes every row of the user and ends their api access tokens.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from sqlalchemy import delete, exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models import Membership, UserSession

SESSION_TTL = timedelta(days=7)


async def open_session(
    request: Any, db: AsyncSession, user_id: UUID, organization_id: UUID, role: str, email: str
) -> UUID:
    now = datetime.now(UTC)
    # a user's spent sessions go when they next log in: the table stays the size of the live ones
    await db.execute(delete(UserSession).where(UserSession.user_id == user_id, UserSession.expires_at <= now))
    row = UserSession(user_id=user_id, expires_at=now + SESSION_TTL)
    db.add(row)
    await db.flush()
    request.set_session(
        {"uid": str(user_id), "org": str(organization_id), "role": role, "email": email, "sid": str(row.id)}
    )
    return row.id


def session_id(request: Any) -> UUID | None:
    session = request.scope.get("session") or {}
    try:
        return UUID(session["sid"])
    except (KeyError, ValueError, TypeError):
        return None


async def close_session(request: Any, db: AsyncSession) -> None:
    sid = session_id(request)
    if sid is not None:
        await db.execute(delete(UserSession).where(UserSession.id == sid))
    request.clear_session()


async def close_all_sessions(db: AsyncSession, user_id: UUID) -> int:
    result = await db.execute(delete(UserSession).where(UserSession.user_id == user_id))
    return int(getattr(result, "rowcount", 0) or 0)


async def live_role(db: AsyncSession, organization_id: UUID, user_id: UUID | None, sid: UUID | None) -> str | None:
    """the member's role when their session is still live, else None (logged out, expired, or no longer a member)."""
    if sid is None or user_id is None:
        return None
    alive = exists().where(
        UserSession.id == sid, UserSession.user_id == user_id, UserSession.expires_at > datetime.now(UTC)
    )
    role = await db.scalar(
        select(Membership.role).where(
            Membership.organization_id == organization_id, Membership.user_id == user_id, alive
        )
    )
    return role.value if role is not None else None


async def user_memberships(db: AsyncSession, user_id: UUID) -> list[UUID]:
    return list(await db.scalars(select(Membership.organization_id).where(Membership.user_id == user_id)))
