"""classic (frequentist) analysis of a fixed split: srm, wilson intervals, tests versus the control, and an
always-valid p-value for teams that look every day. pure numpy/scipy, no i/o.

the fixed-horizon p-value and intervals are only honest when read once, at a sample size chosen in
advance; the always-valid p-value (a mixture sprt, johari et al. 2017) stays valid however often it is read,
at the price of wider intervals.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
from scipy import stats

Z95 = float(stats.norm.ppf(0.975))
# the mixture's spread over true differences, as a share of the control's mean (a 10% relative effect is
# what experiments usually look for); a floor keeps it positive for a control at zero
MIXTURE_RELATIVE_SCALE = 0.1


@dataclass(frozen=True)
class Sample:
    """one arm's totals: `n` trials and the sum and sum of squares of their rewards (0/1 for conversions)."""

    n: float
    total: float
    total_sq: float

    @property
    def mean(self) -> float:
        return self.total / self.n if self.n > 0 else 0.0

    @property
    def variance(self) -> float:
        """the sample variance (ddof 1)."""
        if self.n < 2:
            return 0.0
        return max(0.0, (self.total_sq - self.total * self.total / self.n) / (self.n - 1))


@dataclass(frozen=True)
class Comparison:
    """an arm versus the control: difference of means and relative lift, each with its 95% interval."""

    diff: float
    diff_ci_low: float
    diff_ci_high: float
    lift: float | None
    lift_ci_low: float | None
    lift_ci_high: float | None
    p_value: float
    always_valid_p_value: float
    # the confidence sequence of the difference: valid at every look, like the always-valid p-value
    cs_low: float
    cs_high: float


def srm_p_value(exposures: Sequence[float], weights: Sequence[float]) -> float | None:
    """chi-square goodness of fit of the exposures to the split's weights; none before any exposure.

    exposures on an arm of weight 0 can't happen in a healthy split: the p-value is then 0.
    """
    observed = np.asarray(exposures, dtype=float)
    expected_share = np.asarray(weights, dtype=float)
    total = observed.sum()
    if total <= 0 or observed.shape != expected_share.shape:
        return None
    live = expected_share > 0
    if observed[~live].sum() > 0:
        return 0.0
    if live.sum() < 2:
        return 1.0
    share = expected_share[live] / expected_share[live].sum()
    return float(stats.chisquare(observed[live], total * share).pvalue)


def wilson_interval(successes: float, n: float, z: float = Z95) -> tuple[float, float]:
    """the wilson score interval of a proportion (statsmodels' proportion_confint(method="wilson"))."""
    if n <= 0:
        return 0.0, 1.0
    p = successes / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


def compare_proportions(arm: Sample, control: Sample) -> Comparison:
    """two-proportion z-test (pooled variance) for the p-value; wald interval of the difference and a log
    (katz) interval of the ratio for the lift."""
    p1, p0 = arm.mean, control.mean
    diff = p1 - p0
    se_unpooled = math.sqrt(p1 * (1 - p1) / arm.n + p0 * (1 - p0) / control.n) if arm.n and control.n else 0.0
    pooled = (arm.total + control.total) / (arm.n + control.n) if arm.n + control.n else 0.0
    se_pooled = math.sqrt(pooled * (1 - pooled) * (1 / arm.n + 1 / control.n)) if arm.n and control.n else 0.0
    p_value = float(2 * stats.norm.sf(abs(diff) / se_pooled)) if se_pooled > 0 else 1.0
    lift = lift_low = lift_high = None
    if arm.total > 0 and control.total > 0:
        ratio = p1 / p0
        se_log = math.sqrt(1 / arm.total - 1 / arm.n + 1 / control.total - 1 / control.n)
        lift = ratio - 1
        lift_low, lift_high = ratio * math.exp(-Z95 * se_log) - 1, ratio * math.exp(Z95 * se_log) - 1
    return _comparison(diff, se_unpooled, p_value, lift, lift_low, lift_high, control.mean)


def compare_means(arm: Sample, control: Sample) -> Comparison:
    """welch's t-test and its interval for a difference of means (e.g. revenue per visitor); the lift's
    interval by the delta method on the log of the ratio."""
    v1, v0 = arm.variance, control.variance
    diff = arm.mean - control.mean
    if arm.n < 2 or control.n < 2:
        return _comparison(diff, 0.0, 1.0, None, None, None, control.mean)
    a, b = v1 / arm.n, v0 / control.n
    se = math.sqrt(a + b)
    if se == 0:
        return _comparison(diff, 0.0, 1.0 if diff == 0 else 0.0, None, None, None, control.mean)
    df = (a + b) ** 2 / (a * a / (arm.n - 1) + b * b / (control.n - 1))
    t = float(stats.t.ppf(0.975, df))
    p_value = float(2 * stats.t.sf(abs(diff) / se, df))
    lift = lift_low = lift_high = None
    if arm.mean > 0 and control.mean > 0:
        ratio = arm.mean / control.mean
        se_log = math.sqrt(a / arm.mean**2 + b / control.mean**2)
        lift = ratio - 1
        lift_low, lift_high = ratio * math.exp(-Z95 * se_log) - 1, ratio * math.exp(Z95 * se_log) - 1
    comparison = _comparison(diff, se, p_value, lift, lift_low, lift_high, control.mean)
    # welch's interval uses the t quantile, not the normal one
    return replace(comparison, diff_ci_low=diff - t * se, diff_ci_high=diff + t * se)


def _comparison(
    diff: float,
    se: float,
    p_value: float,
    lift: float | None,
    lift_low: float | None,
    lift_high: float | None,
    control_mean: float,
) -> Comparison:
    tau = mixture_scale(control_mean)
    always = msprt_p_value(diff, se * se, tau)
    cs_low, cs_high = confidence_sequence(diff, se * se, tau)
    return Comparison(
        diff=diff,
        diff_ci_low=diff - Z95 * se,
        diff_ci_high=diff + Z95 * se,
        lift=lift,
        lift_ci_low=lift_low,
        lift_ci_high=lift_high,
        p_value=min(1.0, p_value),
        always_valid_p_value=always,
        cs_low=cs_low,
        cs_high=cs_high,
    )


def mixture_scale(control_mean: float) -> float:
    return MIXTURE_RELATIVE_SCALE * max(abs(control_mean), 1e-3)


def msprt_p_value(diff: float, variance: float, tau: float) -> float:
    """1 / the mixture likelihood ratio of "difference = diff" against "no difference", with a normal
    mixture N(0, tau^2) over the true difference and `variance` the estimate's variance.

    P(this ever falls below alpha under no difference) <= alpha, so it may be read at every look; a running
    minimum over looks (always_valid_p_values) is still valid and never goes back up.
    """
    if variance <= 0:
        return 1.0
    total = variance + tau * tau
    log_lr = 0.5 * math.log(variance / total) + diff * diff * tau * tau / (2 * variance * total)
    return float(min(1.0, math.exp(-log_lr)))


def always_valid_p_values(diffs: Sequence[float], variances: Sequence[float], tau: float) -> np.ndarray:
    """the always-valid p-value after each look: the running minimum of msprt_p_value."""
    raw = np.array([msprt_p_value(d, v, tau) for d, v in zip(diffs, variances, strict=True)])
    return np.minimum.accumulate(raw) if raw.size else raw


def confidence_sequence(diff: float, variance: float, tau: float, alpha: float = 0.05) -> tuple[float, float]:
    """the differences the mixture sprt can't reject at `alpha`: an interval valid at every look."""
    if variance <= 0:
        return diff, diff
    total = variance + tau * tau
    half = math.sqrt(variance * total / (tau * tau) * (2 * math.log(1 / alpha) + math.log(total / variance)))
    return diff - half, diff + half


def compare(arm: Sample, control: Sample, binary: bool) -> Comparison:
    return compare_proportions(arm, control) if binary else compare_means(arm, control)
