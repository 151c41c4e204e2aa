"""shared machinery of the adversarial policies: importance-weighted gain estimates."""

from __future__ import annotations

import math

import numpy as np

from app.bandits.base import Policy
from app.bandits.params import ParamSpec
from app.bandits.state import BanditState, GainState, Params

GAMMA = ParamSpec(
    "gamma",
    "float",
    0.05,
    "Share of traffic spread uniformly, so every arm keeps being tried.",
    minimum=0.0,
    maximum=1.0,
)
ETA_SCALE = ParamSpec(
    "eta_scale",
    "float",
    1.0,
    "Multiplier of the learning rate sqrt(ln k / (k t)).",
    minimum=0.0,
    exclusive_minimum=True,
)


class GainPolicy(Policy):
    """rewards in [0, 1]; ``update`` needs the propensity each event's arm was served with.

    the estimate of arm k's cumulative gain is g_k = Σ r / p over its events, using the
    served propensity p from the selection token (never one recomputed at training
    time, when the state has moved on). a zero-reward exposure adds nothing and a late
    conversion (trials=0) adds r / p, so conversion mode needs no special case. the
    learning rate follows the anytime schedule eta_scale · sqrt(ln k / (k t)), t the
    exposures counted so far.
    """

    kind = "adversarial"
    state_type = GainState
    needs_propensities = True

    def _new_state(self, n_arms: int, params: Params, dim: int | None) -> BanditState:
        return GainState(
            self.name, n_arms, None, params, np.zeros(n_arms, dtype=np.int64), np.zeros(n_arms), np.zeros(n_arms)
        )

    def _apply(
        self,
        state: BanditState,
        arms: np.ndarray,
        rewards: np.ndarray,
        trials: np.ndarray,
        x: np.ndarray | None,
        propensities: np.ndarray | None,
    ) -> BanditState:
        assert isinstance(state, GainState) and propensities is not None
        n, s, g = state.n.copy(), state.s.copy(), state.g.copy()
        np.add.at(n, arms, trials)
        np.add.at(s, arms, rewards)
        np.add.at(g, arms, rewards / propensities)
        return state.evolve(n=n, s=s, g=g)

    def learning_rate(self, state: BanditState) -> float:
        k = state.n_arms
        t = max(int(state.n.sum()), 1)
        eta_scale: float = dict(state.params)["eta_scale"]
        return eta_scale * math.sqrt(math.log(max(k, 2)) / (k * t))


def sample_from(probs: np.ndarray, rng: np.random.Generator, n: int) -> np.ndarray:
    """n draws from a categorical distribution by inverse cdf."""
    cdf = np.cumsum(probs)
    arms = np.searchsorted(cdf, rng.random(n) * cdf[-1], side="right")
    clipped: np.ndarray = np.minimum(arms, probs.size - 1)
    return clipped
