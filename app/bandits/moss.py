"""moss (audibert & bubeck 2010) and its anytime variant (degenne & perchet 2016)."""

from __future__ import annotations

import numpy as np

from app.bandits.params import ParamSpec
from app.bandits.state import StatsState
from app.bandits.stats import IndexPolicy, played_index


class MOSS(IndexPolicy):
    """moss for rewards in [0, 1]; needs the horizon.

    index = mean + sqrt(log+(horizon / (k n)) / n).

    params: ``horizon`` (int, default 100000), the expected total number of exposures.
    past the horizon the bonus is 0 and moss is greedy: prefer ``moss_anytime`` when the
    horizon is unknown.
    """

    name = "moss"
    summary = "Minimax-optimal optimism when you know roughly how many visitors the experiment will see."
    param_specs = (ParamSpec("horizon", "int", 100_000, "Expected total number of exposures.", minimum=1),)

    def index(self, state: StatsState) -> np.ndarray:
        horizon = dict(state.params)["horizon"]
        k = state.n_arms

        def bonus(mean: np.ndarray, n: np.ndarray, t: int) -> np.ndarray:
            width: np.ndarray = np.sqrt(np.maximum(np.log(horizon / (k * n)), 0.0) / n)
            return width

        return played_index(state, bonus)


class MOSSAnytime(IndexPolicy):
    """moss-anytime for rewards in [0, 1]; no horizon needed.

    index = mean + sqrt((1 + alpha) / 2 · log+(t / (k n)) / n), t = trials so far.

    params: ``alpha`` (float, default 1.0), exploration scale; the analysis asks alpha > 1.
    """

    name = "moss_anytime"
    summary = "MOSS without a horizon: minimax-optimal optimism for open-ended experiments."
    param_specs = (ParamSpec("alpha", "float", 1.0, "Exploration scale (analysis wants > 1).", minimum=0.0),)

    def index(self, state: StatsState) -> np.ndarray:
        scale = (1.0 + dict(state.params)["alpha"]) / 2.0
        k = state.n_arms

        def bonus(mean: np.ndarray, n: np.ndarray, t: int) -> np.ndarray:
            width: np.ndarray = np.sqrt(scale * np.maximum(np.log(t / (k * n)), 0.0) / n)
            return width

        return played_index(state, bonus)
