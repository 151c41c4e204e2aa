"""what the analysis must say besides the numbers: impossible data, drift, and the bandit's own value."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from app.stats.continuous import zero_inflated_factors
from app.stats.models import (
    AnalysisWarning,
    ArmResult,
    ArmTotals,
    BanditValue,
    ExperimentAnalysis,
    Kind,
    PeriodCounters,
    Recommendation,
)
from app.stats.strata import Estimate

# a pooled contrast this many standard errors away from the stratified one changes what a reader concludes
DRIFT_SES = 2.0
Z95 = 1.959963984540054


def finite(value: float, default: float = 0.0) -> float:
    value = float(value)
    return value if np.isfinite(value) else default


def impossible_data(arms: Sequence[ArmTotals], kind: Kind, periods: PeriodCounters | None) -> list[AnalysisWarning]:
    """counters no real experiment can produce; the analysis builds no verdict on them."""
    found: list[str] = []
    for arm in arms:
        if arm.trials < 0 or (arm.successes < 0 and kind == "binary") or arm.sum_sq < 0:
            found.append(f"{arm.name} has negative counts")
        elif kind == "binary" and arm.successes > arm.trials:
            found.append(f"{arm.name} has more conversions ({arm.successes:,.0f}) than visitors ({arm.trials:,})")
        elif kind == "continuous" and arm.successes**2 > arm.trials * arm.sum_sq * (1 + 1e-9) + 1e-9:
            found.append(f"{arm.name}'s reward sums are inconsistent (sum squared exceeds n times the sum of squares)")
    if periods is not None:
        n, s, q = periods.trials, periods.successes, periods.sum_sq
        if not (np.isfinite(n).all() and np.isfinite(s).all() and np.isfinite(q).all()):
            found.append("some periods have counters that are not numbers")
        elif (n < 0).any() or (q < 0).any() or (kind == "binary" and (s < 0).any()):
            found.append("some periods have negative counts")
        elif kind == "binary" and (s > n).any():
            bad = int((s > n).sum())
            found.append(f"{bad:,} period row(s) have more conversions than visitors")
        elif kind == "continuous" and (s * s > n * q * (1 + 1e-9) + 1e-9).any():
            found.append("some periods have inconsistent reward sums")
    if not found:
        return []
    message = (
        "Impossible data, so no verdict: " + "; ".join(found[:5]) + ". Check the tracking before reading these numbers."
    )
    return [AnalysisWarning("impossible_data", message)]


def drift_warning(fit: Estimate, names: Sequence[str], informed: np.ndarray) -> AnalysisWarning | None:
    """allocation and base rate moved together enough that the raw totals tell a different story."""
    k = len(names)
    if k < 2:
        return None
    pooled_diff = fit.pooled[:, None] - fit.pooled[None, :]
    strat_diff = fit.means[:, None] - fit.means[None, :]
    with np.errstate(divide="ignore", invalid="ignore"):
        gap = np.abs(pooled_diff - strat_diff) / np.sqrt(fit.pair_var)
    usable = informed[:, None] & informed[None, :] & np.isfinite(gap) & ~np.eye(k, dtype=bool)
    if not usable.any() or gap[usable].max() < DRIFT_SES:
        return None
    worst = float(gap[usable].max())
    pooled_leader = int(np.where(informed, fit.pooled, -np.inf).argmax())
    strat_leader = int(np.where(informed, fit.means, -np.inf).argmax())
    story = (
        f" Raw totals would name {names[pooled_leader]} the leader; compared within the same periods it is"
        f" {names[strat_leader]}."
        if pooled_leader != strat_leader
        else ""
    )
    message = (
        "Traffic moved between arms while the overall rate changed over time, so the raw per-arm totals are"
        f" misleading (off by up to {worst:.1f} standard errors).{story} Levers compares arms within the same"
        " periods; the numbers shown are those."
    )
    return AnalysisWarning("drift", message)


def bandit_value(fit: Estimate, n: np.ndarray) -> BanditValue | None:
    """conversions (or reward) gained over an even split of the same visitors, with a 95% interval.

    under the period model an arm adds mean_i - mean_j over arm j to every visitor it gets, whatever the
    period, so the gain is sum_i (n_i - N / k) mean_i and its variance, a contrast's, comes from the
    pairwise variances: -1/2 sum_ij c_i c_j V_ij with c = n - N / k.
    """
    k = n.size
    total = float(n.sum())
    if k < 2 or total <= 0:
        return None
    c = n - total / k
    gained = float(c @ fit.means)
    pv = np.where(np.isfinite(fit.pair_var), fit.pair_var, np.nan)
    var = float(-0.5 * np.einsum("i,j,ij->", c, c, pv))
    if not np.isfinite(var):
        return None
    half = Z95 * float(np.sqrt(max(var, 0.0)))
    even = total / k * float(fit.means.sum())
    relative = gained / even if even > 0 else 0.0
    return BanditValue(gained, gained - half, gained + half, relative)


def skewed_intervals(
    arms: Sequence[ArmTotals], ci: np.ndarray, centre: np.ndarray, n: np.ndarray, level: float
) -> np.ndarray:
    """the zero-inflated interval around the stratified mean for arms whose count of non-zero rewards is known."""
    out = ci.copy()
    for i, arm in enumerate(arms):
        if arm.nonzero is None or centre[i] <= 0:
            continue
        factors = zero_inflated_factors(int(n[i]), int(arm.nonzero), arm.successes, arm.sum_sq, level)
        if factors is not None:
            out[:, i] = (centre[i] * factors[0], centre[i] * factors[1])
    return out


def flagged_analysis(
    arms: Sequence[ArmTotals], kind: Kind, control: int, problems: list[AnalysisWarning]
) -> ExperimentAnalysis:
    """raw numbers only and no verdict: the data cannot be right."""
    results = []
    for arm in arms:
        observed = arm.successes / arm.trials if arm.trials > 0 else 0.0
        observed = finite(observed)
        results.append(
            ArmResult(
                arm.name, int(arm.trials), finite(arm.successes), observed, observed, observed, observed,
                0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0,
                finite(arm.traffic_share) if arm.traffic_share is not None else 0.0,
            )
        )  # fmt: skip
    rec = Recommendation(
        kind="not_enough_data",
        arm=control,
        arm_name=arms[control].name,
        text="No verdict: the data are impossible. " + problems[0].message.split(": ", 1)[-1],
        prob_best=0.0,
        expected_loss=0.0,
        loss_limit=0.0,
        equivalence_limit=0.0,
    )
    return ExperimentAnalysis(kind, control, results, rec, "exact", problems, None, False)
