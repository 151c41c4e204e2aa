from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

import msgspec

Name = Annotated[str, msgspec.Meta(max_length=200)]
Percent = Annotated[float, msgspec.Meta(ge=0, le=100)]
ArmIndex = Annotated[int, msgspec.Meta(ge=0)]
RuleId = Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9_-]{1,40}$")]
Clock = Annotated[str, msgspec.Meta(max_length=5)]


class Condition(msgspec.Struct, forbid_unknown_fields=True):
    """`attribute` `operator` `value`: eq, neq, in, not_in, contains, starts_with, regex, gt, lt, gte, lte,
    semver_eq, semver_neq, semver_gt, semver_gte, semver_lt, semver_lte, exists."""

    attribute: Annotated[str, msgspec.Meta(max_length=64)]
    operator: Annotated[str, msgspec.Meta(max_length=20)]
    value: Any = None
    ignore_case: bool = False


class Rule(msgspec.Struct, forbid_unknown_fields=True):
    """first match wins: serve `arm`, or exclude (the default arm). the id shows in select's reason."""

    condition: Condition
    action: Literal["serve", "exclude"] = "serve"
    arm: ArmIndex | None = None
    id: RuleId | None = None


class Schedule(msgspec.Struct, forbid_unknown_fields=True):
    """open from `start` (inclusive) to `end` (exclusive), on `days` (0 = monday), between hours_from and
    hours_to local time; naive datetimes are wall-clock times in `timezone`."""

    timezone: Annotated[str, msgspec.Meta(max_length=64)] = "UTC"
    start: datetime | None = None
    end: datetime | None = None
    days: Annotated[list[int], msgspec.Meta(max_length=7)] = []
    hours_from: Clock | None = None
    hours_to: Clock | None = None


Rules = Annotated[list[Rule], msgspec.Meta(max_length=100)]


class GateCreate(msgspec.Struct, forbid_unknown_fields=True):
    experiment_id: UUID
    name: Name = ""
    enabled: bool = True
    rollout_percent: Percent = 100.0
    default_arm: ArmIndex | None = None
    schedule: Schedule | None = None
    rules: Rules = []


class GateUpdate(msgspec.Struct, forbid_unknown_fields=True):
    name: Name | msgspec.UnsetType = msgspec.UNSET
    enabled: bool | msgspec.UnsetType = msgspec.UNSET
    rollout_percent: Percent | msgspec.UnsetType = msgspec.UNSET
    default_arm: ArmIndex | msgspec.UnsetType | None = msgspec.UNSET
    schedule: Schedule | msgspec.UnsetType | None = msgspec.UNSET
    rules: Rules | msgspec.UnsetType = msgspec.UNSET


class Gate(msgspec.Struct):
    id: UUID
    experiment_id: UUID
    name: str
    enabled: bool
    rollout_percent: float
    default_arm: int | None
    schedule: Schedule | None
    rules: list[Rule]
    created_at: datetime
    updated_at: datetime


class HoldoutArm(msgspec.Struct):
    index: int
    name: str
    reason: str
    exposures: int
    feedbacks: int
    reward_sum: float


class HoldoutStats(msgspec.Struct):
    """traffic served outside the bandit (gate rules, rollout, default, forced): never in the arms' results."""

    exposures: int
    feedbacks: int
    reward_sum: float
    mean: float | None
    arms: list[HoldoutArm]
