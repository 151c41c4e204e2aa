from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import BigInteger, Float, ForeignKey, Integer, String, Text, func
from sqlalchemy.orm import Mapped, mapped_column

from app.db.models.base import Base, KeyedBase, metadata
from app.db.models.sites import JSONType


class ArmStatsHourly(KeyedBase):
    """per-arm counters for one hour; the worker adds to them in the same transaction as its checkpoint."""

    __tablename__ = "arm_stats_hourly"

    experiment_id: Mapped[UUID] = mapped_column(ForeignKey("experiments.id", ondelete="CASCADE"), primary_key=True)
    arm_index: Mapped[int] = mapped_column(Integer, primary_key=True)
    hour: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True), primary_key=True)
    exposures: Mapped[int] = mapped_column(BigInteger, default=0)
    feedbacks: Mapped[int] = mapped_column(BigInteger, default=0)
    reward_sum: Mapped[float] = mapped_column(Float, default=0.0)
    reward_sum_sq: Mapped[float] = mapped_column(Float, default=0.0)
    # when the worker last added to this row: the results' "updated at"
    updated_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True), server_default=func.now())


class ArmStatsMinute(KeyedBase):
    """the same counters per minute, kept for a couple of days: the charts of a young experiment read them."""

    __tablename__ = "arm_stats_minute"

    experiment_id: Mapped[UUID] = mapped_column(ForeignKey("experiments.id", ondelete="CASCADE"), primary_key=True)
    arm_index: Mapped[int] = mapped_column(Integer, primary_key=True)
    minute: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True), primary_key=True, index=True)
    exposures: Mapped[int] = mapped_column(BigInteger, default=0)
    feedbacks: Mapped[int] = mapped_column(BigInteger, default=0)
    reward_sum: Mapped[float] = mapped_column(Float, default=0.0)
    reward_sum_sq: Mapped[float] = mapped_column(Float, default=0.0)


class SegmentStatsDaily(KeyedBase):
    """per-arm counters for one day and one value of one segment dimension (app.targeting.segments); the
    values are bounded per experiment and dimension by segment_values (app.worker.segments)."""

    __tablename__ = "segment_stats_daily"

    experiment_id: Mapped[UUID] = mapped_column(ForeignKey("experiments.id", ondelete="CASCADE"), primary_key=True)
    dimension: Mapped[str] = mapped_column(String(16), primary_key=True)
    value: Mapped[str] = mapped_column(String(40), primary_key=True)
    arm_index: Mapped[int] = mapped_column(Integer, primary_key=True)
    day: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True), primary_key=True)
    exposures: Mapped[int] = mapped_column(BigInteger, default=0)
    feedbacks: Mapped[int] = mapped_column(BigInteger, default=0)
    reward_sum: Mapped[float] = mapped_column(Float, default=0.0)
    reward_sum_sq: Mapped[float] = mapped_column(Float, default=0.0)


class SegmentValue(KeyedBase):
    """the values of a dimension an experiment counts on their own; past the cap, new ones count as "other"."""

    __tablename__ = "segment_values"

    experiment_id: Mapped[UUID] = mapped_column(ForeignKey("experiments.id", ondelete="CASCADE"), primary_key=True)
    dimension: Mapped[str] = mapped_column(String(16), primary_key=True)
    value: Mapped[str] = mapped_column(String(40), primary_key=True)


class StreamCheckpoint(KeyedBase):
    """the last stream entry whose statistics are in postgres, per stream."""

    __tablename__ = "stream_checkpoints"

    stream: Mapped[str] = mapped_column(String(200), primary_key=True)
    last_id: Mapped[str] = mapped_column(String(64))


class PolicySnapshot(Base):
    __tablename__ = "policy_snapshots"

    experiment_id: Mapped[UUID] = mapped_column(ForeignKey("experiments.id", ondelete="CASCADE"), index=True)
    last_id: Mapped[str] = mapped_column(String(64))
    events: Mapped[int] = mapped_column(BigInteger, default=0)
    state: Mapped[str] = mapped_column(Text)
    summary: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)


__all__ = [
    "ArmStatsHourly",
    "ArmStatsMinute",
    "PolicySnapshot",
    "SegmentStatsDaily",
    "SegmentValue",
    "StreamCheckpoint",
    "metadata",
]
