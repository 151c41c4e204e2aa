"""team invitations and experiment decision settings

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""

from __future__ import annotations

from collections.abc import Sequence

import advanced_alchemy.types
import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# the decision rule's settings (app.stats.DecisionThresholds) and the prior, with its defaults for existing rows
EXPERIMENT_COLUMNS = (
    ("decision_prob_best", sa.Float(), "0.95"),
    ("decision_max_expected_loss", sa.Float(), "0.005"),
    ("decision_min_trials_per_arm", sa.Integer(), "100"),
    ("decision_practical_difference", sa.Float(), "0.02"),
    ("prior_alpha", sa.Float(), "1.0"),
    ("prior_beta", sa.Float(), "1.0"),
)


def upgrade() -> None:
    op.create_table(
        "invitations",
        sa.Column("id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("organization_id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("created_by_id", advanced_alchemy.types.guid.GUID(length=16), nullable=True),
        sa.Column(
            "role",
            sa.Enum("owner", "admin", "editor", "viewer", name="role", native_enum=False, length=16),
            nullable=False,
        ),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("expires_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
        sa.Column("accepted_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=True),
        sa.Column("accepted_by_id", advanced_alchemy.types.guid.GUID(length=16), nullable=True),
        sa.Column("revoked_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=True),
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.Column("created_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
        sa.Column("updated_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_invitations_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_invitations_created_by_id_users"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["accepted_by_id"], ["users.id"], name=op.f("fk_invitations_accepted_by_id_users"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invitations")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_invitations_token_hash")),
    )
    op.create_index(op.f("ix_invitations_organization_id"), "invitations", ["organization_id"], unique=False)
    for name, type_, default in EXPERIMENT_COLUMNS:
        op.add_column("experiments", sa.Column(name, type_, nullable=False, server_default=sa.text(default)))


def downgrade() -> None:
    for name, _, _ in reversed(EXPERIMENT_COLUMNS):
        op.drop_column("experiments", name)
    op.drop_index(op.f("ix_invitations_organization_id"), table_name="invitations")
    op.drop_table("invitations")
