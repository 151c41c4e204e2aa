"""every table, imported here so alembic and the app see one metadata."""

from app.db.models.accounts import (
    AccountToken,
    ApiKey,
    Membership,
    Organization,
    Role,
    TokenPurpose,
    User,
    UserSession,
)
from app.db.models.base import Base
from app.db.models.event_log import event_log
from app.db.models.experiments import Arm, Experiment, ExperimentStatus, Pool, RewardMode
from app.db.models.gates import FeatureGate, HoldoutStatsHourly
from app.db.models.guardrails import AuditEntry, GuardrailStatsHourly
from app.db.models.recovery import ExperimentParams, FeedbackMark, MemberChange
from app.db.models.sites import Site
from app.db.models.statistics import (
    ArmStatsHourly,
    ArmStatsMinute,
    PolicySnapshot,
    SegmentStatsDaily,
    SegmentValue,
    StreamCheckpoint,
)
from app.db.models.team import Invitation

__all__ = [
    "AccountToken",
    "ApiKey",
    "Arm",
    "ArmStatsHourly",
    "ArmStatsMinute",
    "AuditEntry",
    "Base",
    "Experiment",
    "ExperimentParams",
    "ExperimentStatus",
    "FeatureGate",
    "FeedbackMark",
    "GuardrailStatsHourly",
    "HoldoutStatsHourly",
    "Invitation",
    "MemberChange",
    "Membership",
    "Organization",
    "PolicySnapshot",
    "Pool",
    "RewardMode",
    "Role",
    "SegmentStatsDaily",
    "SegmentValue",
    "Site",
    "StreamCheckpoint",
    "TokenPurpose",
    "User",
    "UserSession",
    "event_log",
]
