from __future__ import annotations

from datetime import datetime
from uuid import UUID

from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.db.models.base import Base

JSONType = JSON().with_variant(JSONB(), "postgresql")


class Site(Base):
    __tablename__ = "sites"

    organization_id: Mapped[UUID] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    public_key: Mapped[str] = mapped_column(String(64), unique=True)
    allowed_origins: Mapped[list[str]] = mapped_column(JSONType, default=list)
    last_seen_url: Mapped[str | None] = mapped_column(String(2048))
    last_seen_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True))
