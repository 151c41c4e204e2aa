"""ucb1-tuned (auer, cesa-bianchi & fischer 2002): ucb with a variance-aware bonus."""

from __future__ import annotations

import numpy as np

from app.bandits.state import StatsState
from app.bandits.stats import IndexPolicy, played_index


class UCB1Tuned(IndexPolicy):
    """ucb1-tuned for rewards in [0, 1].

    index = mean + sqrt(ln t / n · min(1/4, var + sqrt(2 ln t / n))), t = trials so far.
    no params. deterministic: between updates all traffic goes to one arm.
    """

    name = "ucb1_tuned"
    summary = "Deterministic optimism with a variance-aware bonus; a solid default for bounded rewards."

    def index(self, state: StatsState) -> np.ndarray:
        played = state.n > 0
        ss = state.ss[played]

        def bonus(mean: np.ndarray, n: np.ndarray, t: int) -> np.ndarray:
            log_t = np.log(max(t, 1))
            var = np.maximum(ss / n - mean * mean, 0.0)
            v = var + np.sqrt(2.0 * log_t / n)
            width: np.ndarray = np.sqrt(log_t / n * np.minimum(0.25, v))
            return width

        return played_index(state, bonus)
