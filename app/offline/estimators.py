"""off-policy estimators: what a target policy would have earned on traffic another policy served.

every estimator takes the logged arms, their logging propensities, the rewards and ``target`` (n, k): the
probability the target policy gives each arm at each logged event. intervals are normal approximations from
each estimator's own per-event terms (they are independent given the logging policy), which is what the
coverage tests check; ``ess`` is kish's effective sample size of the importance weights.

- ips: mean of w·r with w = π(a|x)/p. unbiased, high variance when the weights are large.
- snips: Σ w·r / Σ w. self-normalised: slightly biased, far steadier; the interval is the delta method's.
- dr: a reward model's prediction under π plus the importance-weighted residual of the logged arm. unbiased when
  either the propensities or the model are right, and lower variance than ips when the model is any good. the
  model (per-arm means, or per-arm ridge regressions on the context) is cross-fitted on two halves so an event
  never corrects its own prediction, which keeps the interval honest.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

Z95 = 1.959963984540054
RIDGE = 1.0


@dataclass(frozen=True)
class Estimate:
    value: float
    ci_low: float
    ci_high: float

    def as_dict(self) -> dict[str, float]:
        return {"value": self.value, "ci_low": self.ci_low, "ci_high": self.ci_high}


def _interval(terms: np.ndarray, value: float | None = None) -> Estimate:
    center = float(terms.mean()) if value is None else value
    half = Z95 * float(terms.std(ddof=1)) / np.sqrt(terms.size) if terms.size > 1 else float("inf")
    return Estimate(center, center - half, center + half)


def importance_weights(arms: np.ndarray, propensities: np.ndarray, target: np.ndarray) -> np.ndarray:
    """π(a_i|x_i) / p_i for each logged event."""
    return target[np.arange(arms.size), arms] / propensities


def effective_sample_size(weights: np.ndarray) -> float:
    """kish's (Σw)² / Σw²: how many on-policy events the weighted log is worth."""
    total = float(weights.sum())
    squares = float((weights * weights).sum())
    return total * total / squares if squares > 0 else 0.0


def logged_value(rewards: np.ndarray) -> Estimate:
    """what the logging policy itself earned per event."""
    return _interval(rewards)


def ips(arms: np.ndarray, propensities: np.ndarray, rewards: np.ndarray, target: np.ndarray) -> Estimate:
    return _interval(importance_weights(arms, propensities, target) * rewards)


def snips(arms: np.ndarray, propensities: np.ndarray, rewards: np.ndarray, target: np.ndarray) -> Estimate:
    weights = importance_weights(arms, propensities, target)
    mean_weight = float(weights.mean())
    if mean_weight <= 0:
        return Estimate(float("nan"), float("-inf"), float("inf"))
    value = float((weights * rewards).sum() / weights.sum())
    # delta method: the ratio's influence terms are w·(r - value) / mean(w)
    return _interval(weights * (rewards - value) / mean_weight, value)


def reward_model(
    arms: np.ndarray, rewards: np.ndarray, contexts: np.ndarray | None, n_arms: int
) -> tuple[np.ndarray, np.ndarray | None]:
    """per-arm fit: intercepts (k,) and, with contexts, ridge coefficients (k, d) on centred contexts."""
    overall = float(rewards.mean()) if rewards.size else 0.0
    intercepts = np.full(n_arms, overall)
    coefs = None if contexts is None else np.zeros((n_arms, contexts.shape[1]))
    for arm in range(n_arms):
        mask = arms == arm
        if not mask.any():
            continue
        intercepts[arm] = rewards[mask].mean()
        if contexts is not None and coefs is not None:
            x = contexts[mask] - contexts[mask].mean(axis=0)
            y = rewards[mask] - intercepts[arm]
            gram = x.T @ x + RIDGE * np.eye(x.shape[1])
            coefs[arm] = np.linalg.solve(gram, x.T @ y)
            intercepts[arm] -= float(contexts[mask].mean(axis=0) @ coefs[arm])
    return intercepts, coefs


def predict(intercepts: np.ndarray, coefs: np.ndarray | None, contexts: np.ndarray | None, n: int) -> np.ndarray:
    """(n, k) predicted reward of every arm at every event."""
    if coefs is None or contexts is None:
        return np.broadcast_to(intercepts, (n, intercepts.size)).copy()
    return intercepts[None, :] + contexts @ coefs.T


def dr(
    arms: np.ndarray,
    propensities: np.ndarray,
    rewards: np.ndarray,
    target: np.ndarray,
    contexts: np.ndarray | None = None,
) -> Estimate:
    n, k = target.shape
    folds = np.arange(n) % 2
    predictions = np.empty((n, k))
    for fold in (0, 1):
        train, test = folds != fold, folds == fold
        intercepts, coefs = reward_model(arms[train], rewards[train], None if contexts is None else contexts[train], k)
        predictions[test] = predict(intercepts, coefs, None if contexts is None else contexts[test], int(test.sum()))
    direct = (target * predictions).sum(axis=1)
    weights = importance_weights(arms, propensities, target)
    residual = rewards - predictions[np.arange(n), arms]
    return _interval(direct + weights * residual)


ESTIMATORS = ("ips", "snips", "dr")


def evaluate(
    arms: np.ndarray,
    propensities: np.ndarray,
    rewards: np.ndarray,
    target: np.ndarray,
    contexts: np.ndarray | None = None,
) -> dict[str, Estimate]:
    """every weighting estimator at once."""
    return {
        "ips": ips(arms, propensities, rewards, target),
        "snips": snips(arms, propensities, rewards, target),
        "dr": dr(arms, propensities, rewards, target, contexts),
    }
