"""results-page analytics: ``analyze``, ``density_curves`` and the REST helper ``arm_interval``.

posteriors: binary arms are Beta-Binomial (``app.stats.binary``), continuous arms Normal-Gamma with
a Student-t posterior of the mean (``app.stats.continuous``). probabilities to be best and expected
losses come from deterministic quadrature (``app.stats.quadrature``); only with more than
``MAX_EXACT_ARMS`` arms, or when the quadrature fails its own check (probabilities not summing to
1), do they come from 200,000 joint posterior draws with a fixed seed. the probability to beat the
control is the same two-arm integral. the lift interval is numerical too: quantiles of the ratio
distribution X_arm / X_control by quadrature and safeguarded Newton steps.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np

from app.stats.binary import BetaPosterior, beta_posterior, binary_interval
from app.stats.checks import (
    Z95,
    bandit_value,
    drift_warning,
    flagged_analysis,
    impossible_data,
    skewed_intervals,
)
from app.stats.continuous import (
    StudentTPosterior,
    continuous_interval,
    normal_gamma_posterior,
)
from app.stats.decision import Projection, decide
from app.stats.models import (
    AnalysisWarning,
    ArmResult,
    ArmTotals,
    DecisionThresholds,
    ExperimentAnalysis,
    Kind,
    PeriodCounters,
)
from app.stats.quadrature import exact, monte_carlo, ratio_quantiles
from app.stats.strata import Estimate, estimate, period_sums

# the quadrature takes ~1 ms at 10 arms and ~2 ms at 50, so sampling is only the fallback past 64
MAX_EXACT_ARMS = 64
LEVEL = 0.95
TAILS = np.array([(1.0 - LEVEL) / 2.0, (1.0 + LEVEL) / 2.0])
DEFAULT_THRESHOLDS = DecisionThresholds()
MIN_CONTROL_MEAN = 1e-12
MIN_CONTROL_CONVERSIONS = 5.0


Counters = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]


def _finite(value: float, default: float = 0.0) -> float:
    """a plain, finite float for JSON."""
    value = float(value)
    return value if np.isfinite(value) else default


def posterior_of(
    arms: Sequence[ArmTotals], kind: Kind, prior: tuple[float, float], counters: Counters | None = None
) -> tuple[BetaPosterior | StudentTPosterior, Projection]:
    """the (1, k) posterior family of the arms and what the decision rule projects from.

    ``counters`` are the (effective) trials, sums and squared sums, by default the arms' totals.
    """
    n, total, squares, centres, pair_var, arm_var = counters or _plain(arms, kind)
    n, total, squares = n[None], total[None], squares[None]
    shares = _projection_shares(arms)
    if kind == "binary":
        post = beta_posterior(n, total, prior)
        mean = post.mean[0]
        projection = Projection(
            mean, mean * (1.0 - mean), post.a[0] + post.b[0] + 1.0, shares, centres, pair_var, n[0], arm_var
        )
        return post, projection
    if kind == "continuous":
        ng = normal_gamma_posterior(n, total, squares, prior)
        projection = Projection(
            ng.mu[0], ng.variance_estimate[0], ng.kappa[0], shares, centres, pair_var, n[0], arm_var
        )
        return ng.marginal, projection
    raise ValueError(f"unknown kind {kind!r}")


def _plain(arms: Sequence[ArmTotals], kind: Kind) -> Counters:
    """the arms' totals as one period."""
    n = np.array([max(a.trials, 0) for a in arms], dtype=float)
    s = np.array([a.successes for a in arms], dtype=float)
    q = np.array([a.sum_sq for a in arms], dtype=float)
    if kind == "binary":
        s = np.clip(s, 0.0, n)
        q = s
    fit = estimate(period_sums(n[None], s[None], q[None]))
    return n, s, q, fit.pooled, fit.pair_var, fit.arm_var


def effective_counters(fit: Estimate, kind: Kind, n: np.ndarray, s: np.ndarray, q: np.ndarray) -> Counters:
    """counters that give a pooled posterior of the stratified centre and width (see ``app.stats.strata``)."""
    eff = fit.effective_n
    centre = fit.means
    if kind == "binary":
        succ = np.clip(centre, 0.0, 1.0) * eff
        return eff, succ, succ, centre, fit.pair_var, fit.arm_var
    own = np.where(n > 0, np.maximum(q - s * fit.pooled, 0.0) / np.where(n > 0, n, 1.0), 0.0)
    return eff, centre * eff, eff * (centre * centre + own), centre, fit.pair_var, fit.arm_var


def _projection_shares(arms: Sequence[ArmTotals]) -> np.ndarray:
    given = [a.traffic_share for a in arms if a.traffic_share is not None]
    if len(given) == len(arms) and sum(given) > 0:
        shares = np.array(given, dtype=float)
        normalised: np.ndarray = shares / shares.sum()
        return normalised
    return np.full(len(arms), 1.0 / len(arms))


def _lift_bounds(
    post: BetaPosterior | StudentTPosterior, control: int, lift: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """the lift interval per arm from the ratio of posteriors, widened to hold the point; zeros for the control,
    and for every arm when the control's mean is not positive (or so small that ratios overflow)."""
    k = post.mean.shape[1]
    means = post.mean[0]
    bounds = np.zeros((k, 2))
    if means[control] <= MIN_CONTROL_MEAN * max(1.0, float(np.abs(means).max())) or k == 1:
        return np.minimum(bounds[:, 0], lift), np.maximum(bounds[:, 1], lift)
    others = np.array([i for i in range(k) if i != control])
    arms = post.take((np.zeros_like(others), others))
    ctrl = post.take((np.array([0]), np.array([control])))
    spread = post.width[0]
    ratios = ratio_quantiles(arms, spread[others], ctrl, float(spread[control]), TAILS)
    bounds[others] = np.nan_to_num(ratios - 1.0, nan=0.0, posinf=1e12, neginf=-1e12)
    bounds[:, 0] = np.minimum(bounds[:, 0], lift)
    bounds[:, 1] = np.maximum(bounds[:, 1], lift)
    return bounds[:, 0], bounds[:, 1]


def _period_arrays(arms: Sequence[ArmTotals], kind: Kind, periods: PeriodCounters | None) -> tuple[np.ndarray, ...]:
    if periods is None:
        n = np.array([[a.trials for a in arms]], dtype=float)
        s = np.array([[a.successes for a in arms]], dtype=float)
        q = np.array([[a.sum_sq for a in arms]], dtype=float)
    else:
        n, s, q = (np.asarray(x, dtype=float) for x in (periods.trials, periods.successes, periods.sum_sq))
        if n.ndim != 2 or n.shape[1] != len(arms) or s.shape != n.shape or q.shape != n.shape:
            raise ValueError(f"periods must be (periods, {len(arms)}) matrices of one shape")
    if kind == "binary":
        q = s
    return n, s, q


def analyze(
    arms: Sequence[ArmTotals],
    kind: Kind,
    control: int = 0,
    thresholds: DecisionThresholds = DEFAULT_THRESHOLDS,
    prior: tuple[float, float] = (1.0, 1.0),
    periods: PeriodCounters | None = None,
) -> ExperimentAnalysis:
    """posterior summary of every arm plus the recommendation.

    ``prior`` is the Beta(alpha, beta) prior for binary experiments and the Normal-Gamma pseudo-counts
    (kappa0, alpha0) for continuous ones (see ``app.stats.continuous``). ``periods`` are the per-period
    counters behind the totals (see ``PeriodCounters``): with them the arms are compared within
    periods (``app.stats.strata``), which stays right when the bandit moved traffic while the base
    rate drifted; without them the totals count as one period. one arm is allowed: it is best with
    probability 1 and has no loss. impossible data gives a warning and no verdict.
    """
    if not arms:
        raise ValueError("analyze needs at least one arm")
    if not 0 <= control < len(arms):
        raise ValueError(f"control {control} is not an arm index")
    if kind not in ("binary", "continuous"):
        raise ValueError(f"unknown kind {kind!r}")
    if kind == "binary":
        beta_posterior(np.ones(1), np.zeros(1), prior)
    n_h, s_h, q_h = _period_arrays(arms, kind, periods)
    problems = impossible_data(arms, kind, periods)
    if problems:
        return flagged_analysis(arms, kind, control, problems)

    k = len(arms)
    fit = estimate(period_sums(n_h, s_h, q_h))
    n, s, q = n_h.sum(axis=0), s_h.sum(axis=0), q_h.sum(axis=0)
    single = n_h.shape[0] == 1
    counters = (n, s, q, fit.pooled, fit.pair_var, fit.arm_var) if single else effective_counters(fit, kind, n, s, q)
    post, projection = posterior_of(arms, kind, prior, counters)
    means = post.mean[0]
    ci = post.ppf(TAILS[:, None, None])[:, 0, :]

    active = np.flatnonzero(n > 0) if (n > 0).any() else np.arange(k)
    sub = post.take((np.zeros((1, active.size), dtype=int), active[None, :]))
    method: Literal["exact", "monte_carlo"] = "exact"
    best = exact(sub) if k <= MAX_EXACT_ARMS else None
    if best is None or not bool(best.well_conditioned[0]):
        best, method = monte_carlo(sub), "monte_carlo"
    prob_best = np.zeros(k)
    prob_best[active] = best.prob_best[0]
    losses = np.maximum(best.expected_max[0] - means, 0.0)
    losses[np.setdiff1d(np.arange(k), active)] = 0.0

    beat = np.zeros(k)
    others = np.array([i for i in range(k) if i != control], dtype=int)
    if others.size:
        pairs = np.stack([others, np.full_like(others, control)], axis=1)
        beat[others] = exact(post.take((np.zeros_like(pairs), pairs))).prob_best[:, 0]
    centre = counters[3] if kind == "continuous" else np.clip(counters[3], 0.0, 1.0)
    relative = bool(_relative_lift(kind, counters, post, control))
    lift = np.zeros(k)
    tiny = MIN_CONTROL_MEAN * max(1.0, float(np.abs(centre).max()), float(np.abs(means).max()))
    if centre[control] > tiny and means[control] > tiny:
        lift[others] = centre[others] / centre[control] - 1.0
    lift_low, lift_high = _lift_bounds(post, control, lift)
    half = Z95 * np.sqrt(np.where(np.isfinite(fit.pair_var[:, control]), fit.pair_var[:, control], 0.0))
    diff = centre - centre[control]

    warnings: list[AnalysisWarning] = []
    if not single:
        drift = drift_warning(fit, [a.name for a in arms], n > 0)
        if drift is not None:
            warnings.append(drift)
    missing = [arms[i].name for i in range(k) if n[i] <= 0]
    if missing and len(missing) < k:
        warnings.append(
            AnalysisWarning("no_visitors", f"{', '.join(missing[:5])}: no visitors yet, left out of the comparison.")
        )
    if kind == "continuous":
        ci = skewed_intervals(arms, ci, centre, n, LEVEL)
    total_trials = n.sum()
    results = []
    for i, arm in enumerate(arms):
        share = arm.traffic_share if arm.traffic_share is not None else (n[i] / total_trials if total_trials else 0.0)
        mean = _finite(means[i])
        results.append(
            ArmResult(
                name=arm.name,
                trials=int(arm.trials),
                successes=float(s[i]),
                mean=mean,
                observed_mean=_finite(centre[i]) if n[i] > 0 else 0.0,
                ci_low=min(_finite(ci[0, i], mean), mean),
                ci_high=max(_finite(ci[1, i], mean), mean),
                prob_best=_finite(prob_best[i]),
                prob_beat_control=_finite(beat[i]),
                lift=_finite(lift[i]),
                lift_ci_low=_finite(lift_low[i]),
                lift_ci_high=_finite(lift_high[i]),
                expected_loss=_finite(losses[i]),
                traffic_share=_finite(share),
                diff=_finite(diff[i]),
                diff_ci_low=_finite(diff[i] - half[i]) if i != control else 0.0,
                diff_ci_high=_finite(diff[i] + half[i]) if i != control else 0.0,
                effective_trials=_finite(counters[0][i]),
            )
        )
    recommendation = decide(
        kind=kind,
        names=[a.name for a in arms],
        trials=n,
        prob_best=np.array([r.prob_best for r in results]),
        losses=np.array([r.expected_loss for r in results]),
        control=control,
        thresholds=thresholds,
        projection=projection,
    )
    value = bandit_value(fit, n) if not single else None
    return ExperimentAnalysis(kind, control, results, recommendation, method, warnings, value, relative)


def _relative_lift(kind: Kind, counters: Counters, post: BetaPosterior | StudentTPosterior, control: int) -> bool:
    """a relative lift needs a control clearly above zero: 5 conversions, or an interval above 0."""
    if kind == "binary":
        return bool(counters[1][control] >= MIN_CONTROL_CONVERSIONS)
    return bool(post.ppf(np.array([[TAILS[0]]]))[0, control] > 0) if post.mean.shape[1] else False


def density_curves(
    arms: Sequence[ArmTotals], kind: Kind, prior: tuple[float, float] = (1.0, 1.0), points: int = 200
) -> tuple[np.ndarray, np.ndarray]:
    """posterior densities on a shared grid: x (points,), y (n_arms, points).

    the grid spans the lowest 0.1% quantile to the highest 99.9% quantile of all arms.
    """
    if not arms:
        raise ValueError("density_curves needs at least one arm")
    if points < 2:
        raise ValueError("points must be at least 2")
    post, _ = posterior_of(arms, kind, prior)
    low = float(np.min(post.ppf(np.full(post.mean.shape, 0.001))))
    high = float(np.max(post.ppf(np.full(post.mean.shape, 0.999))))
    if not high > low:
        pad = 1e-9 * max(1.0, abs(low))
        low, high = low - pad, high + pad
    x = np.linspace(low, high, points)
    y = post.pdf(np.broadcast_to(x, (1, 1, points)))[0]
    return x, np.nan_to_num(y, nan=0.0, posinf=0.0, neginf=0.0)


def arm_interval(
    kind: Kind, n: int, reward_sum: float, reward_sum_sq: float, level: float = 0.95
) -> tuple[float, float, float]:
    """(mean, ci_low, ci_high) of one arm for the REST API; always finite, low <= mean <= high.

    binary: the observed rate s/n with the Beta(1 + s, 1 + n - s) interval, closed at 0 when s = 0
    and at 1 when s = n; n = 0 gives the uniform prior's (0.5, 0.025, 0.975) at level 0.95.
    continuous: the sample mean with the Student-t interval (n - 1 degrees of freedom); n = 0
    gives (0, 0, 0) and n = 1, or rewards without spread, give (mean, mean, mean).
    """
    if not 0.0 < level < 1.0:
        raise ValueError("level must be within (0, 1)")
    if n < 0 or not (np.isfinite(reward_sum) and np.isfinite(reward_sum_sq)):
        raise ValueError("n must be non-negative and the sums finite")
    if kind == "binary":
        mean, low, high = binary_interval(n, reward_sum, level)
    elif kind == "continuous":
        mean, low, high = continuous_interval(n, reward_sum, reward_sum_sq, level)
    else:
        raise ValueError(f"unknown kind {kind!r}")
    mean = _finite(mean)
    return mean, min(_finite(low, mean), mean), max(_finite(high, mean), mean)
