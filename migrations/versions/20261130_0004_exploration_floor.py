"""experiments get an exploration floor: the share of traffic spread evenly over the arms

Revision ID: 0004_exploration_floor
Revises: 0003
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_exploration_floor"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # existing experiments get the default too: every arm keeps being measured (app.bandits.floor)
    op.add_column("experiments", sa.Column("exploration_floor", sa.Float(), nullable=False, server_default="0.05"))


def downgrade() -> None:
    op.drop_column("experiments", "exploration_floor")
