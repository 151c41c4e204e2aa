"""serving around paused arms: the policy's allocation over the open arms, with honest propensities."""

from __future__ import annotations

import numpy as np

from app.bandits import get_policy
from app.domain.guardrails.allocation import open_arm


def test_paused_arms_are_never_served_and_the_rest_keep_their_ratio() -> None:
    policy = get_policy("beta_ts")
    state = policy.init_state(3)
    state = policy.update(
        state,
        np.array([0] * 200 + [1] * 200 + [2] * 200),
        np.r_[np.ones(20), np.zeros(180), np.ones(40), np.zeros(160), np.ones(60), np.zeros(140)],
    )
    full = policy.arm_probabilities(state)
    rng = np.random.default_rng(3)
    draws = [open_arm(policy, state, rng, [2]) for _ in range(4000)]
    arms = np.array([a for a, _ in draws])
    assert 2 not in arms
    expected = full[:2] / full[:2].sum()
    assert abs(np.mean(arms == 1) - expected[1]) < 0.03
    assert all(abs(p - expected[a]) < 1e-12 for a, p in draws[:50])


def test_a_deterministic_policy_on_a_paused_arm_spreads_over_the_open_ones() -> None:
    policy = get_policy("ucb1_tuned")
    state = policy.init_state(3)
    state = policy.update(state, np.array([0, 1, 2] * 50), np.tile([0.0, 0.0, 1.0], 50))
    assert policy.arm_probabilities(state)[2] == 1.0
    rng = np.random.default_rng(4)
    arms = {open_arm(policy, state, rng, [2])[0] for _ in range(200)}
    assert arms == {0, 1}
    assert open_arm(policy, state, rng, [2])[1] == 0.5
