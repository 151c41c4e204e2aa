"""follow the perturbed leader with exponential perturbations that grow with time."""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from app.bandits.base import argmax_rows
from app.bandits.gains import ETA_SCALE, GAMMA, GainPolicy
from app.bandits.state import BanditState, GainState


@lru_cache(maxsize=64)
def _gauss_legendre(nodes: int) -> tuple[np.ndarray, np.ndarray]:
    x, w = np.polynomial.legendre.leggauss(nodes)
    return (x + 1.0) / 2.0, w / 2.0


def leader_probabilities(g: np.ndarray, eta: float) -> np.ndarray:
    """exact chance each arm maximises g_k + e_k / eta with e_k ~ exp(1) independent.

    with m = max g and c_k = exp(-eta (m - g_k)), substituting u = exp(-eta (y - m)) in
    p_k = ∫ f_k(y) Π_{j≠k} F_j(y) dy gives p_k = c_k ∫_0^1 Π_{j≠k} (1 - c_j u) du, a
    polynomial of degree k - 1 that gauss-legendre with k/2 + 1 nodes integrates exactly.
    """
    c = np.exp(-eta * (g.max() - g))
    u, w = _gauss_legendre(g.size // 2 + 1)
    logs = np.log1p(-np.outer(u, c))
    rest = np.exp(logs.sum(axis=1, keepdims=True) - logs)
    probs = c * (w @ rest)
    normalised: np.ndarray = probs / probs.sum()
    return normalised


class FPL(GainPolicy):
    """follow the perturbed leader: play argmax_k g_k + e_k / eta_t, e_k ~ exp(1).

    the perturbation scale 1 / eta_t grows like sqrt(t), so exploration never dies out
    the way it does with a fixed perturbation, and a ``gamma`` share of traffic is
    uniform on top. propensities are exact (closed form above), and ``update`` uses the
    served ones, as exp3 does.

    params: ``gamma`` (float in [0, 1], default 0.05), ``eta_scale`` (float > 0, default 1).
    rewards in [0, 1]; ``update`` requires ``propensities``.
    """

    name = "fpl"
    summary = "Perturbed-leader alternative to EXP3 for adversarial traffic; explores by random noise."
    param_specs = (GAMMA, ETA_SCALE)

    def _probs(self, state: BanditState, x: np.ndarray | None) -> np.ndarray:
        assert isinstance(state, GainState)
        gamma = dict(state.params)["gamma"]
        lead = leader_probabilities(state.g, self.learning_rate(state))
        probs: np.ndarray = (1.0 - gamma) * lead + gamma / state.n_arms
        return probs

    def _select_one(self, state: BanditState, rng: np.random.Generator, x: np.ndarray | None) -> tuple[int, float]:
        arm = int(self._select_arms(state, rng, 1, None)[0])
        return arm, float(self._probs(state, None)[arm])

    def _select_arms(self, state: BanditState, rng: np.random.Generator, n: int, x: np.ndarray | None) -> np.ndarray:
        assert isinstance(state, GainState)
        gamma = dict(state.params)["gamma"]
        eta = self.learning_rate(state)
        noise = rng.exponential(size=(n, state.n_arms))
        arms = argmax_rows(state.g + noise / eta, rng)
        uniform = rng.random(n) < gamma
        arms[uniform] = rng.integers(state.n_arms, size=int(uniform.sum()))
        return arms
