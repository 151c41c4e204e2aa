"""shared helpers of the stats tests: independent posterior draws and output checks."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

import numpy as np

from app.stats import ArmTotals, ExperimentAnalysis

SEED = 20_240_611


def beta_draws(arms: Sequence[ArmTotals], draws: int, prior: tuple[float, float] = (1.0, 1.0)) -> np.ndarray:
    """(k, draws) posterior draws of conversion rates, straight from numpy's Beta sampler."""
    rng = np.random.default_rng(SEED)
    return np.stack([rng.beta(prior[0] + a.successes, prior[1] + a.trials - a.successes, size=draws) for a in arms])


def normal_gamma_draws(arms: Sequence[ArmTotals], draws: int, kappa0: float = 1.0, alpha0: float = 1.0) -> np.ndarray:
    """(k, draws) draws of each arm's mean from the joint Normal-Gamma posterior: tau, then mu | tau.

    the prior is re-derived here from its definition (pooled mean and variance of all rewards).
    """
    n = np.array([a.trials for a in arms], dtype=float)
    sums = np.array([a.successes for a in arms])
    squares = np.array([a.sum_sq for a in arms])
    total = n.sum()
    mu0 = sums.sum() / total
    var0 = (squares.sum() - total * mu0**2) / (total - 1.0)
    rng = np.random.default_rng(SEED)
    out = []
    for count, s, q in zip(n, sums, squares, strict=True):
        xbar = s / count if count else mu0
        ss = q - count * xbar**2 if count else 0.0
        kappa, alpha = kappa0 + count, alpha0 + count / 2.0
        mu = (kappa0 * mu0 + count * xbar) / kappa
        beta = alpha0 * var0 + ss / 2.0 + kappa0 * count * (xbar - mu0) ** 2 / (2.0 * kappa)
        tau = rng.gamma(alpha, 1.0 / beta, size=draws)
        out.append(rng.normal(mu, 1.0 / np.sqrt(kappa * tau)))
    return np.stack(out)


def monte_carlo_summary(draws: np.ndarray, control: int = 0) -> dict[str, np.ndarray]:
    best = draws.argmax(axis=0)
    top = draws.max(axis=0)
    gap = top[None, :] - draws
    return {
        "prob_best": np.bincount(best, minlength=draws.shape[0]) / draws.shape[1],
        "loss": gap.mean(axis=1),
        "loss_se": gap.std(axis=1) / math.sqrt(draws.shape[1]),
        "beat": (draws > draws[control]).mean(axis=1),
        "ratio_q": np.quantile(draws / draws[control], [0.025, 0.975], axis=1),
    }


def assert_json_ready(analysis: ExperimentAnalysis) -> None:
    """every number is a finite plain float or int."""
    for arm in analysis.arms:
        for field in dataclasses.fields(arm):
            value = getattr(arm, field.name)
            if field.name == "name":
                continue
            assert type(value) in (float, int), (field.name, type(value))
            assert math.isfinite(value), (field.name, value)
    rec = analysis.recommendation
    for name in ("prob_best", "expected_loss", "loss_limit", "equivalence_limit"):
        value = getattr(rec, name)
        assert type(value) is float and math.isfinite(value), (name, value)
    assert rec.visitors_needed is None or type(rec.visitors_needed) is int


def assert_ordered(analysis: ExperimentAnalysis) -> None:
    """interval and probability invariants of every arm."""
    total = 0.0
    for arm in analysis.arms:
        assert arm.ci_low <= arm.mean <= arm.ci_high
        assert arm.lift_ci_low <= arm.lift <= arm.lift_ci_high
        assert 0.0 <= arm.prob_best <= 1.0
        assert 0.0 <= arm.prob_beat_control <= 1.0
        assert arm.expected_loss >= 0.0
        total += arm.prob_best
    assert abs(total - 1.0) < 1e-9
