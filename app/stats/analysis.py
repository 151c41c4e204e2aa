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
from app.stats.continuous import StudentTPosterior, continuous_interval, normal_gamma_posterior
from app.stats.decision import Projection, decide
from app.stats.models import ArmResult, ArmTotals, DecisionThresholds, ExperimentAnalysis, Kind
from app.stats.quadrature import exact, monte_carlo, ratio_quantiles

# the quadrature takes ~1 ms at 10 arms and ~2 ms at 50, so sampling is only the fallback past 64
MAX_EXACT_ARMS = 64
LEVEL = 0.95
TAILS = np.array([(1.0 - LEVEL) / 2.0, (1.0 + LEVEL) / 2.0])
DEFAULT_THRESHOLDS = DecisionThresholds()
MIN_CONTROL_MEAN = 1e-12


def _finite(value: float, default: float = 0.0) -> float:
    """a plain, finite float for JSON."""
    value = float(value)
    return value if np.isfinite(value) else default


def _counters(arms: Sequence[ArmTotals]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    n = np.array([a.trials for a in arms], dtype=float)
    return n[None], np.array([a.successes for a in arms], dtype=float)[None], np.array([a.sum_sq for a in arms])[None]


def posterior_of(
    arms: Sequence[ArmTotals], kind: Kind, prior: tuple[float, float]
) -> tuple[BetaPosterior | StudentTPosterior, Projection]:
    """the (1, k) posterior family of the arms and what the decision rule projects from."""
    n, total, squares = _counters(arms)
    shares = _projection_shares(arms)
    if kind == "binary":
        post = beta_posterior(n, total, prior)
        mean = post.mean[0]
        projection = Projection(mean, mean * (1.0 - mean), post.a[0] + post.b[0] + 1.0, shares)
        return post, projection
    if kind == "continuous":
        ng = normal_gamma_posterior(n, total, squares, prior)
        projection = Projection(ng.mu[0], ng.variance_estimate[0], ng.kappa[0], shares)
        return ng.marginal, projection
    raise ValueError(f"unknown kind {kind!r}")


def _projection_shares(arms: Sequence[ArmTotals]) -> np.ndarray:
    given = [a.traffic_share for a in arms if a.traffic_share is not None]
    if len(given) == len(arms) and sum(given) > 0:
        shares = np.array(given, dtype=float)
        normalised: np.ndarray = shares / shares.sum()
        return normalised
    return np.full(len(arms), 1.0 / len(arms))


def _lifts(post: BetaPosterior | StudentTPosterior, control: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """point lift and its interval per arm; zeros for the control, and for every arm when the
    control's mean is not positive (or so small, below 1e-12 of the largest mean, that ratios overflow)."""
    k = post.mean.shape[1]
    means = post.mean[0]
    lift = np.zeros(k)
    bounds = np.zeros((k, 2))
    if means[control] <= MIN_CONTROL_MEAN * max(1.0, float(np.abs(means).max())) or k == 1:
        return lift, bounds[:, 0], bounds[:, 1]
    others = np.array([i for i in range(k) if i != control])
    lift[others] = means[others] / means[control] - 1.0
    arms = post.take((np.zeros_like(others), others))
    ctrl = post.take((np.array([0]), np.array([control])))
    spread = post.width[0]
    ratios = ratio_quantiles(arms, spread[others], ctrl, float(spread[control]), TAILS)
    bounds[others] = np.nan_to_num(ratios - 1.0, nan=0.0, posinf=1e12, neginf=-1e12)
    # the ratio of means lies inside the ratio distribution's central interval except in freak
    # shapes; widen rather than return an interval that excludes the point
    bounds[:, 0] = np.minimum(bounds[:, 0], lift)
    bounds[:, 1] = np.maximum(bounds[:, 1], lift)
    return lift, bounds[:, 0], bounds[:, 1]


def analyze(
    arms: Sequence[ArmTotals],
    kind: Kind,
    control: int = 0,
    thresholds: DecisionThresholds = DEFAULT_THRESHOLDS,
    prior: tuple[float, float] = (1.0, 1.0),
) -> ExperimentAnalysis:
    """posterior summary of every arm plus the recommendation.

    ``prior`` is the Beta(alpha, beta) prior for binary experiments and the Normal-Gamma pseudo-counts
    (kappa0, alpha0) for continuous ones (see ``app.stats.continuous``). one arm is allowed: it is
    best with probability 1 and has no loss.
    """
    if not arms:
        raise ValueError("analyze needs at least one arm")
    if not 0 <= control < len(arms):
        raise ValueError(f"control {control} is not an arm index")
    post, projection = posterior_of(arms, kind, prior)
    k = len(arms)
    means = post.mean[0]
    ci = post.ppf(TAILS[:, None, None])[:, 0, :]

    method: Literal["exact", "monte_carlo"] = "exact"
    best = exact(post) if k <= MAX_EXACT_ARMS else None
    if best is None or not bool(best.well_conditioned[0]):
        best, method = monte_carlo(post), "monte_carlo"
    prob_best = best.prob_best[0]
    losses = np.maximum(best.expected_max[0] - means, 0.0)

    beat = np.zeros(k)
    others = np.array([i for i in range(k) if i != control], dtype=int)
    if others.size:
        pairs = np.stack([others, np.full_like(others, control)], axis=1)
        beat[others] = exact(post.take((np.zeros_like(pairs), pairs))).prob_best[:, 0]
    lift, lift_low, lift_high = _lifts(post, control)

    n = np.array([a.trials for a in arms], dtype=float)
    total_trials = n.sum()
    results = []
    for i, arm in enumerate(arms):
        successes = min(max(arm.successes, 0.0), float(arm.trials)) if kind == "binary" else float(arm.successes)
        observed = successes / arm.trials if arm.trials > 0 else 0.0
        share = arm.traffic_share if arm.traffic_share is not None else (n[i] / total_trials if total_trials else 0.0)
        mean = _finite(means[i])
        results.append(
            ArmResult(
                name=arm.name,
                trials=int(arm.trials),
                successes=float(successes),
                mean=mean,
                observed_mean=_finite(observed),
                ci_low=min(_finite(ci[0, i], mean), mean),
                ci_high=max(_finite(ci[1, i], mean), mean),
                prob_best=_finite(prob_best[i]),
                prob_beat_control=_finite(beat[i]),
                lift=_finite(lift[i]),
                lift_ci_low=_finite(lift_low[i]),
                lift_ci_high=_finite(lift_high[i]),
                expected_loss=_finite(losses[i]),
                traffic_share=_finite(share),
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
    return ExperimentAnalysis(kind, control, results, recommendation, method)


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
