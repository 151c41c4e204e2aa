"""per-segment daily statistics (device, country, language, utm source and medium, new vs returning) and the
bounded set of values each experiment counts per dimension

Revision ID: segments
Revises: 0004_user_sessions
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import advanced_alchemy.types
import sqlalchemy as sa
from alembic import op

revision: str = "segments"
down_revision: str | None = "event_log"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "segment_stats_daily",
        sa.Column("experiment_id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("dimension", sa.String(length=16), nullable=False),
        sa.Column("value", sa.String(length=40), nullable=False),
        sa.Column("arm_index", sa.Integer(), nullable=False),
        sa.Column("day", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
        sa.Column("exposures", sa.BigInteger(), nullable=False),
        sa.Column("feedbacks", sa.BigInteger(), nullable=False),
        sa.Column("reward_sum", sa.Float(), nullable=False),
        sa.Column("reward_sum_sq", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["experiment_id"],
            ["experiments.id"],
            name=op.f("fk_segment_stats_daily_experiment_id_experiments"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "experiment_id", "dimension", "value", "arm_index", "day", name=op.f("pk_segment_stats_daily")
        ),
    )
    op.create_table(
        "segment_values",
        sa.Column("experiment_id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("dimension", sa.String(length=16), nullable=False),
        sa.Column("value", sa.String(length=40), nullable=False),
        sa.ForeignKeyConstraint(
            ["experiment_id"],
            ["experiments.id"],
            name=op.f("fk_segment_values_experiment_id_experiments"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("experiment_id", "dimension", "value", name=op.f("pk_segment_values")),
    )


def downgrade() -> None:
    op.drop_table("segment_values")
    op.drop_table("segment_stats_daily")
