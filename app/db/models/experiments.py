from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import Boolean, Enum, Float, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from app.db.models.base import Base
from app.db.models.sites import JSONType


class ExperimentStatus(enum.StrEnum):
    DRAFT = "draft"
    RUNNING = "running"
    PAUSED = "paused"
    COMPLETED = "completed"


class RewardMode(enum.StrEnum):
    EXPLICIT = "explicit"
    CONVERSION = "conversion"


def _str_enum(cls: type[enum.StrEnum], name: str) -> Enum:
    return Enum(cls, name=name, native_enum=False, length=16, values_callable=lambda e: [m.value for m in e])


class Pool(Base):
    __tablename__ = "pools"

    organization_id: Mapped[UUID] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    arms: Mapped[list[Arm]] = relationship(
        back_populates="pool", lazy="selectin", order_by="Arm.index", cascade="all, delete-orphan"
    )


class Arm(Base):
    __tablename__ = "arms"
    __table_args__ = (UniqueConstraint("pool_id", "index"),)

    pool_id: Mapped[UUID] = mapped_column(ForeignKey("pools.id", ondelete="CASCADE"), index=True)
    index: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(200))
    arm_metadata: Mapped[dict[str, Any]] = mapped_column("metadata", JSONType, default=dict)
    # what the browser tag applies when this arm wins, e.g. {"text": "Buy now"}
    payload: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    pool: Mapped[Pool] = relationship(back_populates="arms", lazy="raise")


class Experiment(Base):
    __tablename__ = "experiments"
    __table_args__ = (UniqueConstraint("organization_id", "key"),)

    organization_id: Mapped[UUID] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), index=True)
    pool_id: Mapped[UUID] = mapped_column(ForeignKey("pools.id", ondelete="RESTRICT"), index=True)
    site_id: Mapped[UUID | None] = mapped_column(ForeignKey("sites.id", ondelete="SET NULL"), index=True)
    key: Mapped[str] = mapped_column(String(100))
    name: Mapped[str] = mapped_column(String(200))
    protocol: Mapped[str] = mapped_column(String(40))
    protocol_params: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    context_dim: Mapped[int | None] = mapped_column(Integer)
    reward_mode: Mapped[RewardMode] = mapped_column(_str_enum(RewardMode, "reward_mode"))
    status: Mapped[ExperimentStatus] = mapped_column(_str_enum(ExperimentStatus, "experiment_status"))
    traffic_percent: Mapped[float] = mapped_column(Float, default=100.0)
    control_index: Mapped[int] = mapped_column(Integer, default=0)
    winner_index: Mapped[int | None] = mapped_column(Integer)
    goal: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    attribution_window_seconds: Mapped[int] = mapped_column(Integer, default=24 * 3600)
    seed: Mapped[int] = mapped_column(Integer)
    # share of traffic spread evenly over the arms whatever the policy says (app.bandits.floor)
    exploration_floor: Mapped[float] = mapped_column(Float, default=0.05, server_default="0.05")
    # the largest |reward| a feedback may carry (continuous rewards); null takes DEFAULT_REWARD_MAX
    reward_max: Mapped[float | None] = mapped_column(Float)
    # the results page's decision rule (app.stats.DecisionThresholds) and the Beta prior of its analysis
    decision_prob_best: Mapped[float] = mapped_column(Float, default=0.95, server_default="0.95")
    decision_max_expected_loss: Mapped[float] = mapped_column(Float, default=0.005, server_default="0.005")
    decision_min_trials_per_arm: Mapped[int] = mapped_column(Integer, default=100, server_default="100")
    decision_practical_difference: Mapped[float] = mapped_column(Float, default=0.02, server_default="0.02")
    prior_alpha: Mapped[float] = mapped_column(Float, default=1.0, server_default="1.0")
    prior_beta: Mapped[float] = mapped_column(Float, default=1.0, server_default="1.0")
    # goals that must not get worse: [{"goal", "better": "higher"|"lower", "tolerance"}] (app.domain.guardrails)
    guardrails: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list, server_default="[]")
    auto_ship: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    auto_drop: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    # arms taken out of allocation: [{"index", "reason", "at"}]; the hot path reads them from the published config
    paused_arms: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list, server_default="[]")
    # "bandit" learns the split; "fixed" serves `weights` through the deterministic ranges of app.targeting.split
    allocation: Mapped[str] = mapped_column(String(16), default="bandit", server_default="bandit")
    weights: Mapped[list[float] | None] = mapped_column(JSONType)
    split_ranges: Mapped[list[list[int]] | None] = mapped_column(JSONType)
    # [{"at": iso time, "allocation": ..., "weights": [...]}]: what the experiment page says happened when
    allocation_history: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list, server_default="[]")
    # which analysis the results page shows first: "bayesian" or "frequentist"
    results_view: Mapped[str] = mapped_column(String(16), default="bayesian", server_default="bayesian")
    # when it first ran (none while a draft); older rows fall back to created_at
    started_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True))
    # archived: kept with all its data but no longer served (the publisher withdraws it from the hot path)
    archived_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True))
    # when it was completed (stopped, or a winner declared by hand or automatically); none while it isn't
    ended_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True))
    # the last status change a person may take back within app.domain.experiments.lifecycle.UNDO_SECONDS:
    # {"action", "at", "status", "winner_index", "by"} (status and winner_index as they were before it)
    last_change: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    pool: Mapped[Pool] = relationship(lazy="selectin")

    @property
    def start_date(self) -> datetime | None:
        if self.status == ExperimentStatus.DRAFT:
            return None
        return self.started_at or self.created_at

    @validates("status")
    def _note_the_end(self, _key: str, status: ExperimentStatus) -> ExperimentStatus:
        # every way of completing an experiment (the api, the pages, an automatic decision) and of taking that
        # back (undo) sets its status: the end is kept as it happens, not read from updated_at later, which
        # archiving, restoring and any edit move too
        if status != self.status:
            self.ended_at = datetime.now(UTC) if status == ExperimentStatus.COMPLETED else None
        return status

    @property
    def days_running(self) -> int | None:
        """whole days since the start; a completed experiment stops counting when it ended, an archived one
        when it was archived."""
        start = self.start_date
        if start is None:
            return None
        if self.status == ExperimentStatus.COMPLETED:
            until = self.ended_at or self.updated_at  # rows completed before ended_at existed: their last change
        elif self.archived_at is not None:
            until = self.archived_at
        else:
            until = datetime.now(UTC)
        return max(0, (until - start).days)
