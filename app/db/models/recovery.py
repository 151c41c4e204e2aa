"""what the worker keeps in postgres so that losing redis loses no learning, no de-duplication, no revocation."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import BigInteger, ForeignKey, String, Text, func
from sqlalchemy.orm import Mapped, mapped_column

from app.db.models.base import KeyedBase


class ExperimentParams(KeyedBase):
    """an experiment's policy state as of its last batch, written with that batch's statistics and checkpoint."""

    __tablename__ = "experiment_params"

    experiment_id: Mapped[UUID] = mapped_column(ForeignKey("experiments.id", ondelete="CASCADE"), primary_key=True)
    last_id: Mapped[str] = mapped_column(String(64))
    events: Mapped[int] = mapped_column(BigInteger, default=0)
    # events the policy could not take (out of bounds, or an update that failed): neither trained nor counted
    set_aside: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    state: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True), server_default=func.now())


class FeedbackMark(KeyedBase):
    """a feedback the worker has counted, by kind and token nonce: de-duplication that outlives redis."""

    __tablename__ = "feedback_marks"

    # nonce first: the worker looks marks up by nonce
    nonce: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(8), primary_key=True)
    experiment_id: Mapped[UUID] = mapped_column(ForeignKey("experiments.id", ondelete="CASCADE"), index=True)
    expires_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True), index=True)


class MemberChange(KeyedBase):
    """when a member's role last changed or they left: access tokens issued before then are refused."""

    __tablename__ = "member_changes"

    organization_id: Mapped[UUID] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[UUID] = mapped_column(primary_key=True)
    changed_at: Mapped[float] = mapped_column()
