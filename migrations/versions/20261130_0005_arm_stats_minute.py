"""per-minute arm statistics for the charts of a young experiment

Revision ID: 0004_arm_stats_minute
Revises: 0004_exploration_floor
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import advanced_alchemy.types
import sqlalchemy as sa
from alembic import op

revision: str = "0004_arm_stats_minute"
down_revision: str | None = "0004_exploration_floor"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "arm_stats_minute",
        sa.Column("experiment_id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("arm_index", sa.Integer(), nullable=False),
        sa.Column("minute", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
        sa.Column("exposures", sa.BigInteger(), nullable=False),
        sa.Column("feedbacks", sa.BigInteger(), nullable=False),
        sa.Column("reward_sum", sa.Float(), nullable=False),
        sa.Column("reward_sum_sq", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["experiment_id"],
            ["experiments.id"],
            name=op.f("fk_arm_stats_minute_experiment_id_experiments"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("experiment_id", "arm_index", "minute", name=op.f("pk_arm_stats_minute")),
    )
    # the housekeeping job deletes old minutes by time across experiments
    op.create_index(op.f("ix_arm_stats_minute_minute"), "arm_stats_minute", ["minute"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_arm_stats_minute_minute"), table_name="arm_stats_minute")
    op.drop_table("arm_stats_minute")
