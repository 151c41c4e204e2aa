"""gaussian thompson sampling with unknown mean and variance (normal-gamma prior)."""

from __future__ import annotations

import numpy as np

from app.bandits.params import ParamSpec
from app.bandits.state import BanditState, StatsState
from app.bandits.thompson import SCALAR_ARMS, ThompsonPolicy, cached_probabilities
from app.stats.continuous import StudentTPosterior


class GaussianTS(ThompsonPolicy):
    """thompson sampling for real-valued rewards (revenue, time on page) of unknown scale.

    each arm has a normal-gamma prior on (mean, precision), so the noise variance is
    learnt per arm rather than fixed. the sampled mean is student-t with 2·alpha_n degrees
    of freedom, location mu_n and scale sqrt(beta_n / (alpha_n kappa_n)).

    params: ``prior_mean`` (mu0, default 0), ``prior_count`` (kappa0 > 0, pseudo-observations
    behind mu0, default 0.01), ``prior_shape`` (alpha0 > 0, default 1), ``prior_rate`` (beta0 > 0,
    default 1; beta0/alpha0 is the prior guess of the noise variance). rewards: any finite number.
    """

    name = "gaussian_ts"
    summary = "Thompson sampling for numeric rewards like revenue; learns each arm's mean and noise."
    reward_bounds = None
    param_specs = (
        ParamSpec("prior_mean", "float", 0.0, "Prior guess of each arm's mean reward (mu0)."),
        ParamSpec(
            "prior_count",
            "float",
            0.01,
            "Pseudo-observations behind prior_mean (kappa0).",
            minimum=0.0,
            exclusive_minimum=True,
        ),
        ParamSpec(
            "prior_shape", "float", 1.0, "Gamma shape of the precision (alpha0).", minimum=0.0, exclusive_minimum=True
        ),
        ParamSpec(
            "prior_rate",
            "float",
            1.0,
            "Gamma rate of the precision (beta0); beta0/alpha0 ≈ prior noise variance.",
            minimum=0.0,
            exclusive_minimum=True,
        ),
    )

    def posterior(self, state: StatsState) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(location, scale, degrees of freedom) of each arm's student-t mean posterior."""
        p = dict(state.params)
        mu0, k0, a0, b0 = p["prior_mean"], p["prior_count"], p["prior_shape"], p["prior_rate"]
        n = state.n.astype(np.float64)
        kappa = k0 + n
        mu = (k0 * mu0 + state.s) / kappa
        mean = np.divide(state.s, n, out=np.zeros_like(n), where=n > 0)
        spread = np.maximum(state.ss - state.s * mean, 0.0)
        alpha = a0 + n / 2.0
        beta = b0 + 0.5 * spread + k0 * n * (mean - mu0) ** 2 / (2.0 * kappa)
        return mu, np.sqrt(beta / (alpha * kappa)), 2.0 * alpha

    def draw(self, state: StatsState, rng: np.random.Generator, n: int) -> np.ndarray:
        """(n, k) posterior samples of the arms' means."""
        loc, scale, df = self.posterior(state)
        if n == 1 and state.n_arms <= SCALAR_ARMS:
            one: np.ndarray = loc + scale * np.array([[rng.standard_t(v) for v in df.tolist()]])
            return one
        return loc + scale * rng.standard_t(df, size=(n, state.n_arms))

    def _probs(self, state: BanditState, x: np.ndarray | None) -> np.ndarray:
        assert isinstance(state, StatsState)
        key = (self.name, state.params, state.n.tobytes(), state.s.tobytes(), state.ss.tobytes())

        def sample(g: np.random.Generator, m: int) -> np.ndarray:
            loc, scale, df = self.posterior(state)
            return loc + scale * g.standard_t(df, size=(m, state.n_arms))

        def exact() -> StudentTPosterior:
            loc, scale, df = self.posterior(state)
            return StudentTPosterior(loc[None, :], scale[None, :], df[None, :])

        return cached_probabilities(key, state.n_arms, sample, exact)
