"""disjoint per-arm ridge regression shared by lin_ucb and lin_ts.

each arm keeps a = ridge·I + Σ x xᵀ (its trials only), b = Σ r x, a⁻¹ and θ = a⁻¹ b,
so selection is a few matrix-vector products and never a matrix inverse. an update
touching an arm with one new trial applies sherman-morrison to a⁻¹; an arm with more
re-inverts its exact ``a`` through a cholesky factorisation (which also wipes out the
rounding that rank-1 updates accumulate; every 256th trial does the same).
"""

from __future__ import annotations

import numpy as np
from scipy.linalg import lapack

from app.bandits.base import Policy
from app.bandits.errors import PolicyError
from app.bandits.params import ParamSpec
from app.bandits.state import BanditState, LinearState, Params

RIDGE = ParamSpec(
    "ridge",
    "float",
    1.0,
    "Ridge penalty λ: prior precision of each arm's weights.",
    minimum=0.0,
    exclusive_minimum=True,
)
_REFRESH = 256


def cholesky_inverse(a: np.ndarray) -> np.ndarray:
    """inverse of a symmetric positive-definite matrix through its cholesky factor."""
    c, info = lapack.dpotrf(a, lower=True)
    if info == 0:
        inv, info = lapack.dpotri(c, lower=True)
    if info != 0:
        raise PolicyError("context", "the ridge system became singular; contexts are too large")
    lower = np.tril(inv)
    full: np.ndarray = lower + np.tril(lower, -1).T
    return full


class LinearPolicy(Policy):
    """base of the contextual policies; rewards may be any finite number."""

    kind = "contextual"
    state_type = LinearState
    reward_bounds = None

    def _new_state(self, n_arms: int, params: Params, dim: int | None) -> BanditState:
        assert dim is not None
        ridge = dict(params)["ridge"]
        eye = np.broadcast_to(np.eye(dim), (n_arms, dim, dim))
        return LinearState(
            self.name,
            n_arms,
            dim,
            params,
            n=np.zeros(n_arms, dtype=np.int64),
            s=np.zeros(n_arms),
            a=eye * ridge,
            a_inv=eye / ridge,
            b=np.zeros((n_arms, dim)),
            theta=np.zeros((n_arms, dim)),
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
        assert isinstance(state, LinearState) and x is not None
        n, s = state.n.copy(), state.s.copy()
        a, a_inv = state.a.copy(), state.a_inv.copy()
        b, theta = state.b.copy(), state.theta.copy()
        np.add.at(n, arms, trials)
        np.add.at(s, arms, rewards)
        fresh = trials == 1
        for arm in arms if arms.size == 1 else np.unique(arms):
            mask = arms == arm
            xs = x[mask]
            b[arm] += rewards[mask] @ xs
            rows = xs[fresh[mask]]
            if rows.shape[0] == 1 and n[arm] % _REFRESH != 0:
                v = rows[0]
                a[arm] += np.outer(v, v)
                u = a_inv[arm] @ v
                a_inv[arm] -= np.outer(u, u) / (1.0 + v @ u)
            elif rows.shape[0] >= 1:
                a[arm] += rows.T @ rows
                a_inv[arm] = cholesky_inverse(a[arm])
            theta[arm] = a_inv[arm] @ b[arm]
        return state.evolve(n=n, s=s, a=a, a_inv=a_inv, b=b, theta=theta)

    def mean_and_variance(self, state: LinearState, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(m, k) predicted mean reward and xᵀ a⁻¹ x for an (m, dim) array of contexts."""
        if x.shape[0] == 1:
            mean, var = self.mean_and_variance_one(state, x[0])
            return mean[None, :], var[None, :]
        var = (np.matmul(x, state.a_inv) * x).sum(axis=2).T
        return x @ state.theta.T, np.maximum(var, 0.0)

    def mean_and_variance_one(self, state: LinearState, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(k,) predicted mean and xᵀ a⁻¹ x for one context."""
        u = state.a_inv @ x
        return state.theta @ x, np.maximum(u @ x, 0.0)
