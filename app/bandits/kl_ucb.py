"""kl-ucb (garivier & cappé 2011) and kl-ucb+ for rewards in [0, 1] (bernoulli kl)."""

from __future__ import annotations

import numpy as np
from scipy.special import xlogy

from app.bandits.params import ParamSpec
from app.bandits.state import StatsState
from app.bandits.stats import IndexPolicy, played_index

_TOL = 1e-12
_MAX_STEPS = 60
_BELOW_ONE = float(np.nextafter(1.0, 0.0))


def bernoulli_kl(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    return xlogy(p, p) - xlogy(p, q) + xlogy(1.0 - p, 1.0 - p) - xlogy(1.0 - p, 1.0 - q)


def kl_upper_bound(p: np.ndarray, d: np.ndarray) -> np.ndarray:
    """largest q in [p, 1] with kl(p, q) <= d, elementwise.

    newton's method from the right: kl(p, .) is convex and increasing on [p, 1), so
    starting above the root each step stays above it and converges monotonically. the
    start is the smaller of two upper bounds: pinsker's, and the one from dropping
    p·log(1/q) >= 0 (tight near q = 1).
    """
    p = np.clip(np.asarray(p, dtype=np.float64), 0.0, 1.0)
    d = np.maximum(np.asarray(d, dtype=np.float64), 0.0)
    out = np.ones_like(p)
    live = p < 1.0
    if not live.any():
        return out
    p, d = p[live], d[live]
    # kl(p, q) = const - p log q - (1 - p) log(1 - q)
    const = xlogy(p, p) + xlogy(1.0 - p, 1.0 - p)
    tail = 1.0 - (1.0 - p) * np.exp(-(d - xlogy(p, p)) / (1.0 - p))
    q = np.maximum(np.minimum(np.minimum(p + np.sqrt(d / 2.0), tail), _BELOW_ONE), p)
    target = const - d
    for _ in range(_MAX_STEPS):
        f = target - xlogy(p, q) - (1.0 - p) * np.log1p(-q)
        gap = q - p
        move = (f > 0.0) & (gap > 0.0)
        step = np.where(move, f * q * (1.0 - q) / np.where(move, gap, 1.0), 0.0)
        q = np.maximum(q - step, p)
        if step.max() <= _TOL:
            break
    out[live] = q
    return out


class KLUCB(IndexPolicy):
    """kl-ucb: index = max{q : n · kl(mean, q) <= log t + c log log t}.

    params: ``c`` (float, default 0), the log-log term; 0 works best in practice, the
    original analysis uses 3. rewards in [0, 1], fractional allowed.
    """

    name = "kl_ucb"
    summary = "Tight KL-based optimism for conversion-style (0/1) rewards; very low regret, deterministic."
    param_specs = (ParamSpec("c", "float", 0.0, "Weight of the log log t exploration term.", minimum=0.0),)

    def index(self, state: StatsState) -> np.ndarray:
        c = dict(state.params)["c"]

        def bonus(mean: np.ndarray, n: np.ndarray, t: int) -> np.ndarray:
            log_t = np.log(max(t, 1))
            budget = log_t + (c * np.log(log_t) if log_t > 1.0 else 0.0)
            width: np.ndarray = kl_upper_bound(mean, budget / n) - mean
            return width

        return played_index(state, bonus)


class KLUCBPlus(IndexPolicy):
    """kl-ucb+: like kl-ucb with the exploration budget log+(t / (k n)); no params."""

    name = "kl_ucb_plus"
    summary = "KL-UCB with a smaller, per-arm exploration budget; usually the lowest regret of the UCBs."

    def index(self, state: StatsState) -> np.ndarray:
        k = state.n_arms

        def bonus(mean: np.ndarray, n: np.ndarray, t: int) -> np.ndarray:
            budget = np.maximum(np.log(t / (k * n)), 0.0)
            width: np.ndarray = kl_upper_bound(mean, budget / n) - mean
            return width

        return played_index(state, bonus)
