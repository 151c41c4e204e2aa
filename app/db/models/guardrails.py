"""guardrail counters and the audit trail of automatic (and manual) decisions on an experiment."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import BigInteger, Float, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.db.models.base import Base, KeyedBase
from app.db.models.sites import JSONType


class GuardrailStatsHourly(KeyedBase):
    """conversions on a guardrail goal per arm and exposure hour; the visitors are the arm's exposures."""

    __tablename__ = "guardrail_stats_hourly"

    experiment_id: Mapped[UUID] = mapped_column(ForeignKey("experiments.id", ondelete="CASCADE"), primary_key=True)
    arm_index: Mapped[int] = mapped_column(Integer, primary_key=True)
    goal: Mapped[str] = mapped_column(String(200), primary_key=True)
    hour: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True), primary_key=True)
    exposures: Mapped[int] = mapped_column(BigInteger, default=0)  # always 0: kept so one upsert adds every table
    feedbacks: Mapped[int] = mapped_column(BigInteger, default=0)
    reward_sum: Mapped[float] = mapped_column(Float, default=0.0)
    reward_sum_sq: Mapped[float] = mapped_column(Float, default=0.0)


class AuditEntry(Base):
    """one decision taken on an experiment: an arm paused by a guardrail, dropped, or a winner shipped."""

    __tablename__ = "experiment_audit"

    organization_id: Mapped[UUID] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), index=True)
    experiment_id: Mapped[UUID] = mapped_column(ForeignKey("experiments.id", ondelete="CASCADE"), index=True)
    action: Mapped[str] = mapped_column(String(32))  # guardrail_pause | drop | ship
    arm_index: Mapped[int | None] = mapped_column(Integer)
    actor: Mapped[str] = mapped_column(String(100), default="automatic")
    reason: Mapped[str] = mapped_column(Text)
    details: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)


__all__ = ["AuditEntry", "GuardrailStatsHourly"]
