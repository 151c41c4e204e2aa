"""feature gates in front of experiments, and the traffic they serve outside the bandit."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import BigInteger, Boolean, Float, ForeignKey, Integer, String, func
from sqlalchemy.orm import Mapped, mapped_column

from app.db.models.base import Base, KeyedBase
from app.db.models.sites import JSONType


class FeatureGate(Base):
    """one per experiment: enabled, schedule, ordered rules (first match wins), rollout, default arm."""

    __tablename__ = "feature_gates"

    organization_id: Mapped[UUID] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), index=True)
    experiment_id: Mapped[UUID] = mapped_column(ForeignKey("experiments.id", ondelete="CASCADE"), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    rollout_percent: Mapped[float] = mapped_column(Float, default=100.0)
    # None: the experiment's control arm
    default_arm: Mapped[int | None] = mapped_column(Integer)
    # per gate, so two gates never bucket the same visitors first
    salt: Mapped[str] = mapped_column(String(32))
    # {"timezone", "start", "end" (iso 8601 with offset), "days", "hours_from", "hours_to"} or None
    schedule: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    # [{"id", "action", "arm", "condition": {"attribute", "operator", "value", "ignore_case"}}]
    rules: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)


class HoldoutStatsHourly(KeyedBase):
    """traffic served outside the bandit (gate rules, rollout, default, forced), per arm, reason and hour."""

    __tablename__ = "holdout_stats_hourly"

    experiment_id: Mapped[UUID] = mapped_column(ForeignKey("experiments.id", ondelete="CASCADE"), primary_key=True)
    arm_index: Mapped[int] = mapped_column(Integer, primary_key=True)
    reason: Mapped[str] = mapped_column(String(80), primary_key=True)
    hour: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True), primary_key=True)
    exposures: Mapped[int] = mapped_column(BigInteger, default=0)
    feedbacks: Mapped[int] = mapped_column(BigInteger, default=0)
    reward_sum: Mapped[float] = mapped_column(Float, default=0.0)
    reward_sum_sq: Mapped[float] = mapped_column(Float, default=0.0)
    updated_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True), server_default=func.now())
