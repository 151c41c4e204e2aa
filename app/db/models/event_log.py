"""the durable event log: every exposure and reward the worker counted, kept for offline evaluation.

one row per stream event, appended by the worker in the transaction that adds the same events to the hourly
statistics (app.worker.counting), never updated. the table is range-partitioned by month on ``exposed_at``,
the exposure's time (the selection token's issue time): a reward lands in its exposure's partition, so the
join that attributes rewards to exposures stays inside one partition and retention drops both together.
"""

from __future__ import annotations

from sqlalchemy import ARRAY, Column, DateTime, Float, Index, Integer, String, Table, Uuid

from app.db.models.base import metadata

event_log = Table(
    "event_log",
    metadata,
    Column("experiment_id", Uuid, nullable=False),
    # the exposure's time: the partition key, and the row's place in the export
    Column("exposed_at", DateTime(timezone=True), nullable=False),
    # when this event itself happened (a reward's arrival)
    Column("ts", DateTime(timezone=True), nullable=False),
    # x exposure, f reward; hx and hf the same for traffic served outside the bandit (app.runtime.records.Event)
    Column("kind", String(2), nullable=False),
    Column("arm_index", Integer, nullable=False),
    Column("propensity", Float, nullable=False),
    Column("reward", Float, nullable=False),
    Column("context", ARRAY(Float), nullable=True),
    # the selection's nonce: a reward carries its exposure's, which is how it is attributed
    Column("nonce", String(64), nullable=False),
    Index("ix_event_log_experiment_id_exposed_at", "experiment_id", "exposed_at"),
    postgresql_partition_by="RANGE (exposed_at)",
)

COLUMNS = ("experiment_id", "exposed_at", "ts", "kind", "arm_index", "propensity", "reward", "context", "nonce")
