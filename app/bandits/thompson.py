"""thompson-sampling propensities: each arm's exact chance to win the draw, cached per posterior.

the chance is P(arm i's draw is the largest) = ∫ f_i(x) Π_{j≠i} F_j(x) dx, integrated by the analytics'
gauss-legendre quadrature (``app.stats.quadrature``: errors ~1e-10, about 0.5 ms for ten arms). a monte-carlo
estimate of 4,096 draws was up to 12% off at moderate probabilities and 25x too high at 5e-6, which biased
inverse-propensity estimates of a losing arm. where the quadrature's own check fails, a monte-carlo estimate
with a fixed seed (never the caller's generator) stands in. either way it is a deterministic function of
(policy, params, statistics): restoring a state from json gives the same propensities, and asking for them
does not change later decisions.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Callable, Hashable

import numpy as np

from app.bandits.base import argmax_random, argmax_rows
from app.bandits.state import BanditState, StatsState
from app.bandits.stats import StatsPolicy
from app.stats import quadrature
from app.stats.posterior import Posterior

MC_DRAWS = 4096
# below this many arms one decision draws scalars: numpy's array-parameter samplers
# carry ~15 us of fixed overhead
SCALAR_ARMS = 16
_SEED = 0x1E7E25
# every arm thompson sampling can play keeps a positive propensity, however far behind it is
PROPENSITY_FLOOR = 1e-12
_CACHE_SIZE = 2048
_cache: dict[Hashable, np.ndarray] = {}
# one decision's sampler arguments as python floats and its propensities, per state (states are immutable: their
# arrays are read-only, a new state replaces an old one), so a decision does no numpy arithmetic. by id: states
# don't hash; an entry holds its state, so the id can't be reused while it is cached
_DECISION_STATES = 512
_decisions: dict[int, tuple[StatsState, Callable[..., float], list[float], list[float], np.ndarray]] = {}


def win_frequencies(draws: int, n_arms: int, sample: Callable[[np.random.Generator, int], np.ndarray]) -> np.ndarray:
    """share of ``draws`` posterior samples each arm wins, smoothed by half a win each.

    the smoothing keeps every propensity positive (an arm thompson sampling can play
    never has probability exactly 0) while the shares still sum to 1.
    """
    rng = np.random.default_rng(_SEED)
    winners = argmax_rows(sample(rng, draws), rng)
    counts = np.bincount(winners, minlength=n_arms).astype(np.float64)
    return (counts + 0.5) / (draws + 0.5 * n_arms)


def exact_probabilities(
    post: Posterior, n_arms: int, sample: Callable[[np.random.Generator, int], np.ndarray]
) -> np.ndarray:
    """each arm's chance to win one thompson draw from ``post`` (shaped (1, k)), by quadrature."""
    best = quadrature.exact(post)
    probs = best.prob_best[0]
    if not (bool(best.well_conditioned[0]) and np.isfinite(probs).all()):
        return win_frequencies(MC_DRAWS, n_arms, sample)
    probs = np.maximum(probs, PROPENSITY_FLOOR)
    return np.asarray(probs / probs.sum(), dtype=np.float64)


def cached_probabilities(
    key: Hashable,
    n_arms: int,
    sample: Callable[[np.random.Generator, int], np.ndarray],
    posterior: Callable[[], Posterior],
) -> np.ndarray:
    """the win chances of the posterior behind ``key``; ``posterior`` builds it (shaped (1, k)) on a miss only."""
    probs = _cache.get(key)
    if probs is None:
        probs = exact_probabilities(posterior(), n_arms, sample)
        probs.flags.writeable = False
        if len(_cache) >= _CACHE_SIZE:
            _cache.pop(next(iter(_cache)), None)
        _cache[key] = probs
    return probs


class ThompsonPolicy(StatsPolicy):
    """plays the arm whose posterior draw is highest; subclasses say how to draw."""

    @abstractmethod
    def draw(self, state: StatsState, rng: np.random.Generator, n: int) -> np.ndarray:
        """(n, k) posterior samples."""

    def scalar_draws(self, state: StatsState) -> tuple[str, list[float], list[float]] | None:
        """the generator method and its two arguments per arm that draw(state, rng, 1) calls, or None."""
        return None

    def _select_one(self, state: BanditState, rng: np.random.Generator, x: np.ndarray | None) -> tuple[int, float]:
        # the same draws, in the same order, and the same tie-break as argmax_random(draw(state, rng, 1)[0]),
        # without their numpy arrays: a beta_ts decision over 10 arms went from ~58 µs to ~10 µs (bench/bandits.py)
        assert isinstance(state, StatsState)
        cached = _decisions.get(id(state))
        if cached is None or cached[0] is not state:
            scalar = self.scalar_draws(state) if state.n_arms <= SCALAR_ARMS else None
            if scalar is None:
                arm = argmax_random(self.draw(state, rng, 1)[0], rng)
                return arm, float(self._probs(state, None)[arm])
            method, first, second = scalar
            if len(_decisions) >= _DECISION_STATES:
                _decisions.pop(next(iter(_decisions)))
            cached = _decisions[id(state)] = (
                state,
                getattr(type(rng), method),
                first,
                second,
                self._probs(state, None),
            )
        _, sampler, first, second, probs = cached
        draws = [sampler(rng, a, b) for a, b in zip(first, second, strict=True)]
        best = max(draws)
        arm = draws.index(best)
        if draws.count(best) > 1:  # a tie (draws of exactly 0 or 1 from extreme posteriors): broken at random
            arm = argmax_random(np.asarray(draws), rng)
        return arm, float(probs[arm])

    def _select_arms(self, state: BanditState, rng: np.random.Generator, n: int, x: np.ndarray | None) -> np.ndarray:
        assert isinstance(state, StatsState)
        return argmax_rows(self.draw(state, rng, n), rng)
