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
# checked by the service (0 <= f < 1, a 422 naming the field), see app.bandits.floor
Floor = Annotated[
    float,
    msgspec.Meta(
        description="Share of traffic spread evenly over the arms whatever the policy says (0 <= f < 1): "
        "with k arms each gets at least f/k, so every arm keeps being measured."
    ),
]
Allocation = Literal["bandit", "fixed"]
ResultsView = Literal["bayesian", "frequentist"]
# one per arm, non-negative, summing to 1 (checked by the service against the pool's arms)
Weights = Annotated[list[float], msgspec.Meta(min_length=1, max_length=100)]
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


class Guardrail(msgspec.Struct, forbid_unknown_fields=True):
    """a goal that must not get worse: an arm likely worse than the control by more than ``tolerance`` (a
    fraction of the control's rate) is paused; conversions on it arrive as feedback with ``goal`` set."""

    goal: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    better: Literal["higher", "lower"] = "higher"
    tolerance: Fraction = 0.05


Guardrails = Annotated[list[Guardrail], msgspec.Meta(max_length=10)]


class PausedArm(msgspec.Struct):
    index: int
    reason: str
    at: str


class AuditRecord(msgspec.Struct):
    """one decision on an experiment: guardrail_pause, drop, ship, manual_pause or resume."""

    id: UUID
    action: str
    arm_index: int | None
    actor: str
    reason: str
    details: dict[str, Any]
    created_at: datetime


class ExperimentCreate(msgspec.Struct, forbid_unknown_fields=True):
    name: Name
    pool_id: UUID
    # unset: stratified_ts for conversion experiments, beta_ts otherwise
    protocol: str | None = None
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
    exploration_floor: Floor = 0.05
    guardrails: Guardrails = []
    # automatic decisions: ship the winner when the results' rule says ship; pause an arm that is clearly worse
    auto_ship: bool = False
    auto_drop: bool = False
    allocation: Allocation = "bandit"
    weights: Weights | None = None
    results_view: ResultsView = "bayesian"
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
    exploration_floor: Floor | msgspec.UnsetType = msgspec.UNSET
    guardrails: Guardrails | msgspec.UnsetType = msgspec.UNSET
    auto_ship: bool | msgspec.UnsetType = msgspec.UNSET
    auto_drop: bool | msgspec.UnsetType = msgspec.UNSET
    # the arms to keep out of allocation: leave one out to resume it, add one to pause it by hand
    paused_arms: (
        Annotated[list[Annotated[int, msgspec.Meta(ge=0)]], msgspec.Meta(max_length=100)] | msgspec.UnsetType
    ) = msgspec.UNSET
    allocation: Allocation | msgspec.UnsetType = msgspec.UNSET
    weights: Weights | msgspec.UnsetType | None = msgspec.UNSET
    results_view: ResultsView | msgspec.UnsetType = msgspec.UNSET
    reward_max: RewardMax | msgspec.UnsetType | None = msgspec.UNSET


class AllocationChange(msgspec.Struct):
    at: datetime
    allocation: str
    weights: list[float] | None


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
    exploration_floor: float
    created_at: datetime
    updated_at: datetime
    guardrails: list[Guardrail] = []
    auto_ship: bool = False
    auto_drop: bool = False
    paused_arms: list[PausedArm] = []
    allocation: str = "bandit"
    # the fixed split: weights and its ranges [start, end, arm] on [0, 2**53) (see the readme)
    weights: list[float] | None = None
    split_ranges: list[list[int]] | None = None
    allocation_history: list[AllocationChange] = []
    results_view: str = "bayesian"
    # archived: kept with its data, no longer served; restore brings it back
    archived_at: datetime | None = None
    # until when POST .../undo takes back the last stop or declared winner (none: nothing to undo)
    undo_until: datetime | None = None
    # when it first ran (none while a draft) and for how many whole days
    started_at: datetime | None = None
    days_running: int | None = None
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
    # the classic view: the wilson interval of a conversion rate, and versus the control (none for it) the
    # difference's 95% interval, the fixed-horizon p-value (z-test or welch) and the always-valid one
    wilson_low: float | None = None
    wilson_high: float | None = None
    p_value: float | None = None
    always_valid_p_value: float | None = None
    diff_ci_low: float | None = None
    diff_ci_high: float | None = None
    lift: float | None = None
    lift_ci_low: float | None = None
    lift_ci_high: float | None = None


class ExperimentStats(msgspec.Struct):
    experiment_id: UUID
    reward_mode: str
    arms: list[ArmStats]
    updated_at: datetime | None
    # traffic the experiment's gate served outside the bandit: never part of the arms above
    holdout: HoldoutStats | None = None
    # fixed splits only: chi-square test of the exposures against the weights (below 0.001: the split is broken)
    srm_p_value: float | None = None
