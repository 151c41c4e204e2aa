"""guardrails, automatic decisions, paused arms and the decisions' audit trail

Revision ID: 0005_guardrails_audit
Revises: 0004_arm_stats_minute
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import advanced_alchemy.types
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0005_guardrails_audit"
down_revision: str | None = "0004_arm_stats_minute"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

GUID = advanced_alchemy.types.guid.GUID(length=16)
WHEN = advanced_alchemy.types.datetime.DateTimeUTC(timezone=True)


def _json() -> sa.types.TypeEngine:
    return sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.add_column("experiments", sa.Column("guardrails", _json(), server_default="[]", nullable=False))
    op.add_column("experiments", sa.Column("auto_ship", sa.Boolean(), server_default="false", nullable=False))
    op.add_column("experiments", sa.Column("auto_drop", sa.Boolean(), server_default="false", nullable=False))
    op.add_column("experiments", sa.Column("paused_arms", _json(), server_default="[]", nullable=False))
    op.create_table(
        "guardrail_stats_hourly",
        sa.Column("experiment_id", GUID, nullable=False),
        sa.Column("arm_index", sa.Integer(), nullable=False),
        sa.Column("goal", sa.String(length=200), nullable=False),
        sa.Column("hour", WHEN, nullable=False),
        sa.Column("exposures", sa.BigInteger(), nullable=False),
        sa.Column("feedbacks", sa.BigInteger(), nullable=False),
        sa.Column("reward_sum", sa.Float(), nullable=False),
        sa.Column("reward_sum_sq", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["experiment_id"],
            ["experiments.id"],
            name=op.f("fk_guardrail_stats_hourly_experiment_id_experiments"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("experiment_id", "arm_index", "goal", "hour", name=op.f("pk_guardrail_stats_hourly")),
    )
    op.create_table(
        "experiment_audit",
        sa.Column("id", GUID, nullable=False),
        sa.Column("organization_id", GUID, nullable=False),
        sa.Column("experiment_id", GUID, nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("arm_index", sa.Integer(), nullable=True),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("details", _json(), nullable=False),
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("updated_at", WHEN, nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_experiment_audit_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["experiment_id"],
            ["experiments.id"],
            name=op.f("fk_experiment_audit_experiment_id_experiments"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_experiment_audit")),
    )
    op.create_index(op.f("ix_experiment_audit_organization_id"), "experiment_audit", ["organization_id"])
    op.create_index(op.f("ix_experiment_audit_experiment_id"), "experiment_audit", ["experiment_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_experiment_audit_experiment_id"), table_name="experiment_audit")
    op.drop_index(op.f("ix_experiment_audit_organization_id"), table_name="experiment_audit")
    op.drop_table("experiment_audit")
    op.drop_table("guardrail_stats_hourly")
    for column in ("paused_arms", "auto_drop", "auto_ship", "guardrails"):
        op.drop_column("experiments", column)
