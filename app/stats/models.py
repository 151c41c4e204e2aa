"""value types of the analytics package: inputs, settings and JSON-ready results.

every numeric field of a result is a plain python ``float`` or ``int`` that is finite, so the
objects can be serialised as they are.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

Kind = Literal["binary", "continuous"]
RecommendationKind = Literal["ship", "keep_running", "no_difference", "not_enough_data"]


@dataclass(frozen=True, slots=True)
class ArmTotals:
    """cumulative counters of one arm.

    binary: ``successes`` is the number of conversions among ``trials`` exposures.
    continuous: ``successes`` is the sum of rewards and ``sum_sq`` the sum of squared rewards.
    ``traffic_share`` is the bandit's current allocation, carried through to the result.
    ``nonzero`` (continuous, optional) is how many rewards were not zero (the buyers among visitors):
    with it, non-negative rewards get the zero-inflated interval of ``app.stats.continuous``.
    impossible values (negative counts, more conversions than exposures) are accepted here and
    flagged by ``analyze``, which then builds no verdict on them.
    """

    name: str
    trials: int
    successes: float = 0.0
    sum_sq: float = 0.0
    traffic_share: float | None = None
    nonzero: int | None = None

    def __post_init__(self) -> None:
        values = (self.trials, self.successes, self.sum_sq)
        if not all(math.isfinite(v) for v in values):
            raise ValueError(f"arm {self.name!r}: counters must be finite")
        if self.traffic_share is not None and not 0.0 <= self.traffic_share <= 1.0:
            raise ValueError(f"arm {self.name!r}: traffic_share must be within [0, 1]")


@dataclass(frozen=True, slots=True)
class DecisionThresholds:
    """settings of the decision rule (see ``app.stats.decision``).

    loss and difference thresholds are relative to the control arm's posterior mean, so the same
    defaults fit conversion rates and revenue per visitor:

    - ``prob_best`` (0.95): a winner must be at least this likely to be the best arm.
    - ``max_expected_loss`` (0.005): a winner's expected loss must be at most 0.5% of the control's
      mean (0.025 points of conversion rate at a 5% baseline).
    - ``min_trials_per_arm`` (100): no verdict before the experiment has this many visitors per arm
      on average (the total counts, so an arm the bandit starved does not block the verdict).
    - ``practical_difference`` (0.02): when choosing even the worst arm is expected to cost less
      than 2% of the control's mean, the arms are practically equivalent.
    """

    prob_best: float = 0.95
    max_expected_loss: float = 0.005
    min_trials_per_arm: int = 100
    practical_difference: float = 0.02

    def __post_init__(self) -> None:
        if not 0.5 < self.prob_best <= 1.0:
            raise ValueError("prob_best must be within (0.5, 1]")
        if not (self.max_expected_loss >= 0 and self.practical_difference >= 0):
            raise ValueError("max_expected_loss and practical_difference must be non-negative")
        if not (math.isfinite(self.max_expected_loss) and math.isfinite(self.practical_difference)):
            raise ValueError("thresholds must be finite")
        if self.min_trials_per_arm < 0:
            raise ValueError("min_trials_per_arm must be non-negative")


@dataclass(frozen=True, slots=True)
class ArmResult:
    """posterior summary of one arm.

    ``mean`` is the posterior mean and ``observed_mean`` the estimate without prior: the period-
    stratified mean of ``app.stats.strata`` (the raw rate successes / trials when the split never
    changed; 0 without trials); ``ci_low``/``ci_high`` the equal-tailed 95% credible interval of the
    mean. ``lift`` is observed_mean / control's observed_mean - 1 with its 95% interval, ``diff`` the
    absolute difference to the control with its 95% interval (what to show when the control is
    near zero, see ``ExperimentAnalysis.relative_lift``); ``expected_loss`` is E[max_j mu_j - mu_arm] in
    the metric's units. the control's own comparison fields (prob_beat_control, lift, lift
    interval) are 0. ``traffic_share`` is the caller's value, else the arm's share of exposures.
    """

    name: str
    trials: int
    successes: float
    mean: float
    observed_mean: float
    ci_low: float
    ci_high: float
    prob_best: float
    prob_beat_control: float
    lift: float
    lift_ci_low: float
    lift_ci_high: float
    expected_loss: float
    traffic_share: float
    diff: float = 0.0
    diff_ci_low: float = 0.0
    diff_ci_high: float = 0.0
    effective_trials: float = 0.0


@dataclass(frozen=True, slots=True)
class Recommendation:
    """verdict for the results page.

    ``arm``/``arm_name`` name the winner (ship) or the current leader (other kinds). ``prob_best``
    and ``expected_loss`` are that arm's. ``loss_limit`` and ``equivalence_limit`` are the
    absolute thresholds that were applied. ``visitors_needed`` estimates the additional visitors
    before a verdict (keep_running, not_enough_data); when the projection found no verdict within
    its horizon it is the horizon and ``visitors_needed_is_lower_bound`` is true.
    """

    kind: RecommendationKind
    arm: int
    arm_name: str
    text: str
    prob_best: float
    expected_loss: float
    loss_limit: float
    equivalence_limit: float
    visitors_needed: int | None = None
    visitors_needed_is_lower_bound: bool = False


@dataclass(frozen=True, slots=True)
class PeriodCounters:
    """per-period counters of shape (periods, n_arms): the allocation periods the analysis stratifies by.

    rows are consecutive periods (hours, or buckets of hours); a conversion belongs to its
    exposure's period. the arms' totals are the column sums.
    """

    trials: np.ndarray
    successes: np.ndarray
    sum_sq: np.ndarray


@dataclass(frozen=True, slots=True)
class AnalysisWarning:
    """something the reader must know: ``code`` is stable (``impossible_data``, ``drift``), ``message`` plain."""

    code: str
    message: str


@dataclass(frozen=True, slots=True)
class BanditValue:
    """what the adaptive allocation gained so far over an even split of the same visitors.

    ``gained`` = sum_i (n_i - N / k) mean_i with the stratified means (conversions, or reward units),
    with its 95% interval; ``relative`` is gained over what the even split would have produced.
    """

    gained: float
    low: float
    high: float
    relative: float


@dataclass(frozen=True, slots=True)
class ExperimentAnalysis:
    """everything the results page shows; ``method`` says how prob_best/expected_loss were computed.

    ``warnings`` lists impossible data (then the recommendation is not_enough_data and builds on
    nothing) and drift between allocation and base rate; ``relative_lift`` is false when the
    control's mean is too uncertain near zero for a relative lift to mean anything (show ``diff``).
    """

    kind: Kind
    control: int
    arms: list[ArmResult]
    recommendation: Recommendation
    method: Literal["exact", "monte_carlo"] = "exact"
    warnings: list[AnalysisWarning] = field(default_factory=list)
    bandit_value: BanditValue | None = None
    relative_lift: bool = True


@dataclass(frozen=True, slots=True)
class TimeSeries:
    """per-hour arrays of shape (hours, n_arms) for the over-time charts.

    ``mean``/``low``/``high`` are the posterior mean and 95% band of the cumulative data up to and
    including each hour; hours before an arm's first exposure show the prior, so charts should
    mask them with ``cumulative_trials == 0``. ``traffic_share`` is each arm's share of that hour's
    exposures (0 for every arm in an hour without traffic).
    """

    cumulative_trials: np.ndarray
    mean: np.ndarray
    low: np.ndarray
    high: np.ndarray
    prob_best: np.ndarray
    traffic_share: np.ndarray
