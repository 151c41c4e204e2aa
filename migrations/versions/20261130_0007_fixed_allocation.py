"""classic a/b tests: fixed-weight allocation, its split ranges and history, the results view, the start date

Revision ID: 0004_fixed_allocation
Revises: 0005_guardrails_audit
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import advanced_alchemy.types
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0004_fixed_allocation"
down_revision: str | None = "0005_guardrails_audit"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.add_column(
        "experiments", sa.Column("allocation", sa.String(16), nullable=False, server_default=sa.text("'bandit'"))
    )
    op.add_column("experiments", sa.Column("weights", JSON, nullable=True))
    op.add_column("experiments", sa.Column("split_ranges", JSON, nullable=True))
    op.add_column("experiments", sa.Column("allocation_history", JSON, nullable=False, server_default=sa.text("'[]'")))
    op.add_column(
        "experiments", sa.Column("results_view", sa.String(16), nullable=False, server_default=sa.text("'bayesian'"))
    )
    op.add_column(
        "experiments",
        sa.Column("started_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=True),
    )


def downgrade() -> None:
    for name in ("started_at", "results_view", "allocation_history", "split_ranges", "weights", "allocation"):
        op.drop_column("experiments", name)
