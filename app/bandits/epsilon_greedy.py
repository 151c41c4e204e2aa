"""epsilon-greedy with exploration that decays with exposures, not with feedback events."""

from __future__ import annotations

import numpy as np

from app.bandits.base import tied_best
from app.bandits.params import ParamSpec
from app.bandits.state import BanditState, StatsState
from app.bandits.stats import StatsPolicy, played_index

_POWER = {"none": 0.0, "inverse_sqrt": 0.5, "inverse": 1.0}


class EpsilonGreedy(StatsPolicy):
    """explore uniformly with probability ε_t, else play the best mean (ties at random).

    ε_t = epsilon · (1 + t / decay_scale) ** -power, where t is the number of trials
    (exposures) counted in the state and power is 0, 1/2 or 1 for ``decay`` = none,
    inverse_sqrt, inverse. counting exposures, not update calls, means batching or
    late conversions do not change the schedule. arms never tried count as best.

    params: ``epsilon`` (float in [0, 1], default 0.1), ``decay`` (default inverse_sqrt),
    ``decay_scale`` (int >= 1, default 1000 exposures). rewards: any finite number.
    """

    name = "epsilon_greedy"
    summary = "Simple and explainable: mostly show the best arm, sometimes a random one."
    reward_bounds = None
    param_specs = (
        ParamSpec(
            "epsilon", "float", 0.1, "Share of traffic explored at random at the start.", minimum=0.0, maximum=1.0
        ),
        ParamSpec(
            "decay",
            "str",
            "inverse_sqrt",
            "How exploration shrinks as exposures accumulate.",
            choices=("none", "inverse_sqrt", "inverse"),
        ),
        ParamSpec("decay_scale", "int", 1000, "Exposures over which exploration starts to shrink.", minimum=1),
    )

    def epsilon(self, state: BanditState) -> float:
        p = dict(state.params)
        t = float(state.n.sum())
        return float(p["epsilon"] * (1.0 + t / p["decay_scale"]) ** -_POWER[p["decay"]])

    def _greedy(self, state: BanditState) -> np.ndarray:
        assert isinstance(state, StatsState)
        return tied_best(played_index(state, lambda mean, n, t: np.zeros_like(mean)))

    def _select_one(self, state: BanditState, rng: np.random.Generator, x: np.ndarray | None) -> tuple[int, float]:
        eps = self.epsilon(state)
        best = self._greedy(state)
        if rng.random() < eps:
            arm = int(rng.integers(state.n_arms))
        else:
            arm = int(best[rng.integers(best.size)]) if best.size > 1 else int(best[0])
        p = eps / state.n_arms + ((1.0 - eps) / best.size if arm in best else 0.0)
        return arm, p

    def _select_arms(self, state: BanditState, rng: np.random.Generator, n: int, x: np.ndarray | None) -> np.ndarray:
        eps = self.epsilon(state)
        best = self._greedy(state)
        explore = rng.random(n) < eps
        arms = best[rng.integers(best.size, size=n)] if best.size > 1 else np.full(n, best[0], dtype=np.int64)
        arms[explore] = rng.integers(state.n_arms, size=int(explore.sum()))
        return arms

    def _probs(self, state: BanditState, x: np.ndarray | None) -> np.ndarray:
        eps = self.epsilon(state)
        probs = np.full(state.n_arms, eps / state.n_arms)
        best = self._greedy(state)
        probs[best] += (1.0 - eps) / best.size
        return probs
