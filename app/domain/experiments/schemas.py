from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

import msgspec

from app.domain.gates.schemas import HoldoutStats

Name = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
Key = Annotated[str, msgspec.Meta(pattern=r"^[a-z0-9][a-z0-9_-]{0,99}$")]
Percent = Annotated[float, msgspec.Meta(ge=0, le=100)]
ContextDim = Annotated[int, msgspec.Meta(ge=1, le=256)]
Window = Annotated[int, msgspec.Meta(ge=60, le=90 * 24 * 3600)]
Status = Literal["draft", "running", "paused", "completed"]
RewardModeName = Literal["explicit", "conversion"]
# the results page's decision rule, see app.stats.DecisionThresholds
ProbBest = Annotated[float, msgspec.Meta(gt=0.5, le=1.0)]
Fraction = Annotated[float, msgspec.Meta(ge=0.0, le=1.0)]
MinTrials = Annotated[int, msgspec.Meta(ge=0, le=10_000_000)]
PriorCount = Annotated[float, msgspec.Meta(gt=0.0, le=1_000_000.0)]
# the largest |reward| one feedback may carry; larger ones are refused with a 422 (see DEFAULT_REWARD_MAX)
# (checked by the service, so a bad one is a 422 naming the field: app.domain.experiments.services.check_reward_max)
RewardMax = Annotated[
    float,
    msgspec.Meta(
        description="Largest absolute reward one feedback may carry (continuous rewards, e.g. revenue), above 0"
        " and at most 1e9; larger rewards are refused with a 422. Default 10000.",
    ),
]


class Decision(msgspec.Struct, forbid_unknown_fields=True):
    """when the results page calls a winner; losses and differences are fractions of the control's mean."""

    prob_best: ProbBest = 0.95
    max_expected_loss: Fraction = 0.005
    min_trials_per_arm: MinTrials = 100
    practical_difference: Fraction = 0.02
    prior_alpha: PriorCount = 1.0
    prior_beta: PriorCount = 1.0


class ExperimentCreate(msgspec.Struct, forbid_unknown_fields=True):
    name: Name
    pool_id: UUID
    protocol: str = "beta_ts"
    protocol_params: dict[str, Any] = {}
    reward_mode: RewardModeName = "explicit"
    status: Literal["draft", "running"] = "running"
    key: Key | None = None
    site_id: UUID | None = None
    context_dim: ContextDim | None = None
    traffic_percent: Percent = 100.0
    control_index: Annotated[int, msgspec.Meta(ge=0)] = 0
    attribution_window_seconds: Window = 24 * 3600
    goal: dict[str, Any] = {}
    seed: Annotated[int, msgspec.Meta(ge=0, le=2**31 - 1)] | None = None
    decision: Decision | None = None
    reward_max: RewardMax | None = None


class ExperimentUpdate(msgspec.Struct, forbid_unknown_fields=True):
    name: Name | msgspec.UnsetType = msgspec.UNSET
    status: Status | msgspec.UnsetType = msgspec.UNSET
    protocol: str | msgspec.UnsetType = msgspec.UNSET
    protocol_params: dict[str, Any] | msgspec.UnsetType = msgspec.UNSET
    reward_mode: RewardModeName | msgspec.UnsetType = msgspec.UNSET
    site_id: UUID | msgspec.UnsetType | None = msgspec.UNSET
    context_dim: ContextDim | msgspec.UnsetType | None = msgspec.UNSET
    traffic_percent: Percent | msgspec.UnsetType = msgspec.UNSET
    control_index: Annotated[int, msgspec.Meta(ge=0)] | msgspec.UnsetType = msgspec.UNSET
    winner_index: Annotated[int, msgspec.Meta(ge=0)] | msgspec.UnsetType | None = msgspec.UNSET
    attribution_window_seconds: Window | msgspec.UnsetType = msgspec.UNSET
    goal: dict[str, Any] | msgspec.UnsetType = msgspec.UNSET
    decision: Decision | msgspec.UnsetType = msgspec.UNSET
    reward_max: RewardMax | msgspec.UnsetType | None = msgspec.UNSET


class Experiment(msgspec.Struct):
    id: UUID
    key: str
    name: str
    pool_id: UUID
    site_id: UUID | None
    protocol: str
    protocol_params: dict[str, Any]
    context_dim: int | None
    reward_mode: str
    status: str
    traffic_percent: float
    control_index: int
    winner_index: int | None
    attribution_window_seconds: int
    goal: dict[str, Any]
    decision: Decision
    created_at: datetime
    updated_at: datetime
    reward_max: float = 10_000.0


class ArmStats(msgspec.Struct):
    name: str
    index: int
    exposures: int
    feedbacks: int
    reward_sum: float
    mean: float
    ci_low: float
    ci_high: float


class ExperimentStats(msgspec.Struct):
    experiment_id: UUID
    reward_mode: str
    arms: list[ArmStats]
    updated_at: datetime | None
    # traffic the experiment's gate served outside the bandit: never part of the arms above
    holdout: HoldoutStats | None = None
