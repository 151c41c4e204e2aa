"""when an experiment was completed, so archiving it or editing it later no longer moves its days running

Revision ID: ended_at
Revises: account_tokens
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import advanced_alchemy.types
import sqlalchemy as sa
from alembic import op

revision: str = "ended_at"
down_revision: str | None = "account_tokens"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "experiments",
        sa.Column("ended_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=True),
    )
    # completed before this column: their last change is the best record of the end there is
    op.execute("update experiments set ended_at = updated_at where status = 'completed'")


def downgrade() -> None:
    op.drop_column("experiments", "ended_at")
