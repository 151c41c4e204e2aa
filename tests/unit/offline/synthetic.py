"""synthetic logged traffic with a known truth: contexts, a context-dependent logging policy and rewards."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from app.offline.events import LoggedEvents

THETA = np.array([[0.8, -0.5, 0.2], [-0.4, 0.9, -0.3], [0.1, 0.1, 0.7]])
BIAS = np.array([-1.6, -1.3, -1.9])


def click_rates(contexts: np.ndarray) -> np.ndarray:
    """(n, 3) true conversion rate of each arm for each visitor."""
    return 1.0 / (1.0 + np.exp(-(BIAS[None, :] + contexts @ THETA.T)))


def logging_policy(contexts: np.ndarray) -> np.ndarray:
    """(n, 3) a softmax the logger used: far from uniform, and dependent on the context."""
    scores = 1.5 * contexts @ np.array([[1.0, 0.0, -0.5], [0.0, -1.0, 0.5], [-0.5, 0.5, 0.0]]).T
    scores -= scores.max(axis=1, keepdims=True)
    weights = np.exp(scores)
    probs = weights / weights.sum(axis=1, keepdims=True)
    # every arm keeps some chance, as the exploration floor guarantees in production
    return 0.9 * probs + 0.1 / 3


@dataclass
class Log:
    events: LoggedEvents
    logging_probs: np.ndarray


def make_log(rng: np.random.Generator, n: int, uniform: bool = False, contextual: bool = True) -> Log:
    contexts = rng.normal(size=(n, 3))
    probs = np.full((n, 3), 1 / 3) if uniform else logging_policy(contexts)
    arms = (rng.random((n, 1)) > probs.cumsum(axis=1)).sum(axis=1)
    rewards = (rng.random(n) < click_rates(contexts)[np.arange(n), arms]).astype(np.float64)
    events = LoggedEvents(
        timestamps=np.arange(n, dtype=np.float64),
        arms=arms.astype(np.int64),
        propensities=probs[np.arange(n), arms],
        rewards=rewards,
        contexts=contexts if contextual else None,
    )
    return Log(events, probs)


def target_policy(contexts: np.ndarray) -> np.ndarray:
    """(n, 3) a fixed stochastic target: mostly the arm a linear rule prefers, unlike the logger."""
    best = (contexts @ np.array([[0.5, 0.0, 0.0], [0.0, 0.5, 0.0], [0.0, 0.0, 0.5]]).T).argmax(axis=1)
    probs = np.full((contexts.shape[0], 3), 0.1)
    probs[np.arange(contexts.shape[0]), best] = 0.8
    return probs


def true_value(target: type[object] | None = None, samples: int = 2_000_000) -> float:
    """the target policy's expected reward per visitor, by a large monte-carlo over visitors (exact rates)."""
    contexts = np.random.default_rng(12345).normal(size=(samples, 3))
    return float((target_policy(contexts) * click_rates(contexts)).sum(axis=1).mean())
