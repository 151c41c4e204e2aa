"""the durable event log: every counted exposure and reward, range-partitioned by month of exposure

Revision ID: event_log
Revises: 0004_user_sessions
Create Date: 2026-12-01

the worker creates each month's partition ahead of need (app.worker.event_log) and housekeeping drops those past
the retention (EVENT_LOG_RETENTION_DAYS); this migration creates only the partitioned parent and its index.
no foreign key to experiments: a per-row check would halve the copy rate, and the worker already writes only
events of experiments it has share-locked (app.worker.counting); deleting an experiment deletes its rows.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "event_log"
down_revision: str | None = "0004_user_sessions"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        """
        create table event_log (
            experiment_id uuid not null,
            exposed_at timestamptz not null,
            ts timestamptz not null,
            kind varchar(2) not null,
            arm_index integer not null,
            propensity double precision not null,
            reward double precision not null,
            context double precision[],
            nonce varchar(64) not null
        ) partition by range (exposed_at)
        """
    )
    op.execute("create index ix_event_log_experiment_id_exposed_at on event_log (experiment_id, exposed_at)")


def downgrade() -> None:
    # drops every partition with it
    op.execute("drop table event_log")
