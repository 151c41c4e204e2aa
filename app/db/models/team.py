"""invitations: a link that lets someone join an organization with a given role."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import Enum, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db.models.accounts import Role
from app.db.models.base import Base


class Invitation(Base):
    __tablename__ = "invitations"

    organization_id: Mapped[UUID] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), index=True)
    created_by_id: Mapped[UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    role: Mapped[Role] = mapped_column(
        Enum(Role, name="role", native_enum=False, length=16, values_callable=lambda e: [m.value for m in e])
    )
    # an optional note of who the link is for; anyone holding the link may use it once
    email: Mapped[str | None] = mapped_column(String(320))
    # sha-256 of the link's 256-bit secret, like api keys
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True))
    accepted_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True))
    accepted_by_id: Mapped[UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True))
