"""what survives losing redis: experiment params, feedback marks, member changes; experiments.reward_max

Revision ID: 0008_recovery_tables
Revises: 0004_fixed_allocation
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import advanced_alchemy.types
import sqlalchemy as sa
from alembic import op

revision: str = "0008_recovery_tables"
down_revision: str | None = "0004_fixed_allocation"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

GUID = advanced_alchemy.types.guid.GUID(length=16)
INSTANT = advanced_alchemy.types.datetime.DateTimeUTC(timezone=True)


def _experiment_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["experiment_id"], ["experiments.id"], name=op.f(f"fk_{table}_experiment_id_experiments"), ondelete="CASCADE"
    )


def upgrade() -> None:
    op.add_column("experiments", sa.Column("reward_max", sa.Float(), nullable=True))
    op.create_table(
        "experiment_params",
        sa.Column("experiment_id", GUID, nullable=False),
        sa.Column("last_id", sa.String(length=64), nullable=False),
        sa.Column("events", sa.BigInteger(), nullable=False),
        sa.Column("set_aside", sa.BigInteger(), nullable=False, server_default=sa.text("0")),
        sa.Column("state", sa.Text(), nullable=False),
        sa.Column("updated_at", INSTANT, nullable=False, server_default=sa.text("now()")),
        _experiment_fk("experiment_params"),
        sa.PrimaryKeyConstraint("experiment_id", name=op.f("pk_experiment_params")),
    )
    op.create_table(
        "feedback_marks",
        sa.Column("nonce", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("experiment_id", GUID, nullable=False),
        sa.Column("expires_at", INSTANT, nullable=False),
        _experiment_fk("feedback_marks"),
        sa.PrimaryKeyConstraint("nonce", "kind", name=op.f("pk_feedback_marks")),
    )
    op.create_index(op.f("ix_feedback_marks_experiment_id"), "feedback_marks", ["experiment_id"])
    op.create_index(op.f("ix_feedback_marks_expires_at"), "feedback_marks", ["expires_at"])
    op.create_table(
        "member_changes",
        sa.Column("organization_id", GUID, nullable=False),
        sa.Column("user_id", GUID, nullable=False),
        sa.Column("changed_at", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_member_changes_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("organization_id", "user_id", name=op.f("pk_member_changes")),
    )


def downgrade() -> None:
    op.drop_table("member_changes")
    op.drop_index(op.f("ix_feedback_marks_expires_at"), table_name="feedback_marks")
    op.drop_index(op.f("ix_feedback_marks_experiment_id"), table_name="feedback_marks")
    op.drop_table("feedback_marks")
    op.drop_table("experiment_params")
    op.drop_column("experiments", "reward_max")
