"""beta-bernoulli thompson sampling."""

from __future__ import annotations

import numpy as np

from app.bandits.params import ParamSpec
from app.bandits.state import BanditState, StatsState
from app.bandits.thompson import SCALAR_ARMS, ThompsonPolicy, cached_probabilities
from app.stats.binary import BetaPosterior


class BetaTS(ThompsonPolicy):
    """thompson sampling with a beta prior per arm, for rewards in [0, 1].

    posterior beta(prior_alpha + s, prior_beta + n - s); fractional rewards are
    fractional successes. params: ``prior_alpha``, ``prior_beta`` (floats > 0, default 1:
    a uniform prior). propensities are exact (quadrature), cached per posterior.
    """

    name = "beta_ts"
    summary = "Bayesian Thompson sampling for conversions (0/1 rewards); the recommended default."
    param_specs = (
        ParamSpec(
            "prior_alpha", "float", 1.0, "Prior successes + 1 (Beta alpha).", minimum=0.0, exclusive_minimum=True
        ),
        ParamSpec("prior_beta", "float", 1.0, "Prior failures + 1 (Beta beta).", minimum=0.0, exclusive_minimum=True),
    )

    def posterior(self, state: StatsState) -> tuple[np.ndarray, np.ndarray]:
        p = dict(state.params)
        return p["prior_alpha"] + state.s, p["prior_beta"] + (state.n - state.s)

    def draw(self, state: StatsState, rng: np.random.Generator, n: int) -> np.ndarray:
        """(n, k) posterior samples."""
        a, b = self.posterior(state)
        if n == 1 and state.n_arms <= SCALAR_ARMS:
            return np.array([[rng.beta(x, y) for x, y in zip(a.tolist(), b.tolist(), strict=True)]])
        return rng.beta(a, b, size=(n, state.n_arms))

    def scalar_draws(self, state: StatsState) -> tuple[str, list[float], list[float]]:
        a, b = self.posterior(state)
        return "beta", a.tolist(), b.tolist()

    def _probs(self, state: BanditState, x: np.ndarray | None) -> np.ndarray:
        assert isinstance(state, StatsState)
        key = (self.name, state.params, state.n.tobytes(), state.s.tobytes())

        def sample(g: np.random.Generator, m: int) -> np.ndarray:
            a, b = self.posterior(state)
            return g.beta(a, b, size=(m, state.n_arms))

        def exact() -> BetaPosterior:
            a, b = self.posterior(state)
            return BetaPosterior(a[None, :].astype(np.float64), b[None, :].astype(np.float64))

        return cached_probabilities(key, state.n_arms, sample, exact)
