"""experiment lifecycle: archiving (kept, not served) and the last undoable change (stop, winner, pause)

Revision ID: lifecycle
Revises: 0004_user_sessions
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import advanced_alchemy.types
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "lifecycle"
down_revision: str | None = "segments"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.add_column(
        "experiments",
        sa.Column("archived_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=True),
    )
    op.add_column("experiments", sa.Column("last_change", JSON, nullable=True))


def downgrade() -> None:
    op.drop_column("experiments", "last_change")
    op.drop_column("experiments", "archived_at")
