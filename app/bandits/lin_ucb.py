"""disjoint linucb (li, chu, langford & schapire 2010)."""

from __future__ import annotations

import numpy as np

from app.bandits.base import argmax_rows
from app.bandits.linear import RIDGE, LinearPolicy
from app.bandits.params import ParamSpec
from app.bandits.state import BanditState, LinearState


class LinUCB(LinearPolicy):
    """per-arm ridge regression on the visitor's context with an optimistic bonus.

    score_k(x) = θ_kᵀx + alpha · sqrt(xᵀ a_k⁻¹ x); the arm with the largest score wins,
    ties at random. each arm has its own weights (the standard disjoint model), so arms
    share nothing and any reward scale works.

    params: ``alpha`` (float >= 0, default 1.0) exploration width; ``ridge`` (float > 0,
    default 1.0). contexts: float64 vectors of length ``dim``.
    """

    name = "lin_ucb"
    summary = "Personalise by visitor context (device, segment, ...): optimistic linear model per arm."
    param_specs = (
        ParamSpec("alpha", "float", 1.0, "Width of the confidence bonus.", minimum=0.0),
        RIDGE,
    )

    def _scores(self, state: LinearState, x: np.ndarray) -> np.ndarray:
        mean, var = self.mean_and_variance(state, x)
        score: np.ndarray = mean + dict(state.params)["alpha"] * np.sqrt(var)
        return score

    def _select_one(self, state: BanditState, rng: np.random.Generator, x: np.ndarray | None) -> tuple[int, float]:
        assert isinstance(state, LinearState) and x is not None
        mean, var = self.mean_and_variance_one(state, x)
        # the arm's scores as floats: max, count and index over ten of them cost less than numpy's reductions,
        # which were ~12% of a lin_ucb select's cpu (bench/lean_routes.py); a tie still breaks as argmax_random
        scores = (mean + dict(state.params)["alpha"] * np.sqrt(var)).tolist()
        best = max(scores)
        ties = scores.count(best)
        if ties == 1:
            return scores.index(best), 1.0
        # every arm ties until the first feedbacks train it: the tie broken on the list, with the same draw as
        # argmax_random (its numpy round trip was ~8% of an untrained experiment's select, bench/lean_routes.py)
        tied = [arm for arm, score in enumerate(scores) if score == best]
        return tied[int(rng.integers(ties))], 1.0 / ties

    def _select_arms(self, state: BanditState, rng: np.random.Generator, n: int, x: np.ndarray | None) -> np.ndarray:
        assert isinstance(state, LinearState) and x is not None
        return argmax_rows(self._scores(state, x), rng)

    def _probs(self, state: BanditState, x: np.ndarray | None) -> np.ndarray:
        assert isinstance(state, LinearState) and x is not None
        score = self._scores(state, x)
        best = score == score.max(axis=1, keepdims=True)
        probs: np.ndarray = best / best.sum(axis=1, keepdims=True)
        return probs
