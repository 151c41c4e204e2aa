"""exp3 (auer, cesa-bianchi, freund & schapire 2002) with an anytime learning rate."""

from __future__ import annotations

import numpy as np

from app.bandits.gains import ETA_SCALE, GAMMA, GainPolicy, sample_from
from app.bandits.state import BanditState, GainState


class Exp3(GainPolicy):
    """exponential weights on importance-weighted gains, mixed with uniform exploration.

    p_k = (1 - gamma) · softmax(eta_t · g)_k + gamma / k. exact propensities.

    params: ``gamma`` (float in [0, 1], default 0.05), ``eta_scale`` (float > 0, default 1).
    rewards in [0, 1]; ``update`` requires ``propensities`` (see ``GainPolicy``).
    """

    name = "exp3"
    summary = "For traffic whose best arm may drift or be gamed: adversarial guarantees, exact propensities."
    param_specs = (GAMMA, ETA_SCALE)

    def _probs(self, state: BanditState, x: np.ndarray | None) -> np.ndarray:
        assert isinstance(state, GainState)
        gamma = dict(state.params)["gamma"]
        w = np.exp(self.learning_rate(state) * (state.g - state.g.max()))
        probs: np.ndarray = (1.0 - gamma) * w / w.sum() + gamma / state.n_arms
        return probs

    def _select_one(self, state: BanditState, rng: np.random.Generator, x: np.ndarray | None) -> tuple[int, float]:
        probs = self._probs(state, None)
        arm = int(sample_from(probs, rng, 1)[0])
        return arm, float(probs[arm])

    def _select_arms(self, state: BanditState, rng: np.random.Generator, n: int, x: np.ndarray | None) -> np.ndarray:
        return sample_from(self._probs(state, None), rng, n)
