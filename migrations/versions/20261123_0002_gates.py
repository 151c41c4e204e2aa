"""feature gates and targeting rules

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from __future__ import annotations

from collections.abc import Sequence

import advanced_alchemy.types
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _json() -> sa.types.TypeEngine:
    return sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "feature_gates",
        sa.Column("id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("organization_id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("experiment_id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("rollout_percent", sa.Float(), nullable=False),
        sa.Column("default_arm", sa.Integer(), nullable=True),
        sa.Column("salt", sa.String(length=32), nullable=False),
        sa.Column("schedule", _json(), nullable=True),
        sa.Column("rules", _json(), nullable=False),
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.Column("created_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
        sa.Column("updated_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["experiment_id"],
            ["experiments.id"],
            name=op.f("fk_feature_gates_experiment_id_experiments"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_feature_gates_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feature_gates")),
        sa.UniqueConstraint("experiment_id", name=op.f("uq_feature_gates_experiment_id")),
    )
    op.create_index(op.f("ix_feature_gates_organization_id"), "feature_gates", ["organization_id"], unique=False)
    op.create_table(
        "holdout_stats_hourly",
        sa.Column("experiment_id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("arm_index", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=80), nullable=False),
        sa.Column("hour", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
        sa.Column("exposures", sa.BigInteger(), nullable=False),
        sa.Column("feedbacks", sa.BigInteger(), nullable=False),
        sa.Column("reward_sum", sa.Float(), nullable=False),
        sa.Column("reward_sum_sq", sa.Float(), nullable=False),
        sa.Column(
            "updated_at",
            advanced_alchemy.types.datetime.DateTimeUTC(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["experiment_id"],
            ["experiments.id"],
            name=op.f("fk_holdout_stats_hourly_experiment_id_experiments"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("experiment_id", "arm_index", "reason", "hour", name=op.f("pk_holdout_stats_hourly")),
    )


def downgrade() -> None:
    op.drop_table("holdout_stats_hourly")
    op.drop_index(op.f("ix_feature_gates_organization_id"), table_name="feature_gates")
    op.drop_table("feature_gates")
