"""helpers shared by the bandit tests: a small state per policy and valid event batches."""

from __future__ import annotations

from typing import Any

import numpy as np

from app.bandits import POLICIES, Policy
from app.bandits.state import BanditState

ALL = sorted(POLICIES)
CONTEXTUAL = sorted(n for n, p in POLICIES.items() if p.kind == "contextual")
STOCHASTIC = sorted(n for n, p in POLICIES.items() if p.kind == "stochastic")
ADVERSARIAL = sorted(n for n, p in POLICIES.items() if p.kind == "adversarial")
DIM = 3


def fresh(name: str, n_arms: int = 4, params: dict[str, Any] | None = None) -> tuple[Policy, BanditState]:
    policy = POLICIES[name]
    return policy, policy.init_state(n_arms, params, dim=DIM if policy.contextual else None)


def contexts(policy: Policy, rng: np.random.Generator, n: int) -> np.ndarray | None:
    return rng.standard_normal((n, DIM)) if policy.contextual else None


def context(policy: Policy, rng: np.random.Generator) -> np.ndarray | None:
    return rng.standard_normal(DIM) if policy.contextual else None


def batch(policy: Policy, state: BanditState, rng: np.random.Generator, n: int) -> dict[str, Any]:
    """n valid events served by ``state``: arms, fractional rewards, contexts, propensities."""
    x = contexts(policy, rng, n)
    arms, props = policy.select_many_with_propensities(state, rng, n, x)
    rewards = np.round(rng.random(n), 3)
    return {"arms": arms, "rewards": rewards, "contexts": x, "propensities": props}


def trained(name: str, n_arms: int = 4, events: int = 60, seed: int = 0) -> tuple[Policy, BanditState]:
    """a state that has seen a few batches of events."""
    policy, state = fresh(name, n_arms)
    rng = np.random.default_rng(seed)
    for _ in range(3):
        state = policy.update(state, **batch(policy, state, rng, events // 3))
    return policy, state


def assert_states_close(a: BanditState, b: BanditState) -> None:
    """equal up to rounding (linear policies sum in a different order when batched)."""
    assert type(a) is type(b)
    for name in a.array_names():
        np.testing.assert_allclose(getattr(a, name), getattr(b, name), rtol=1e-9, atol=1e-12, err_msg=name)
