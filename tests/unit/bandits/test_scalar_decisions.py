"""a thompson decision's scalar path draws what the array path draws: same arm for the same generator state."""

from __future__ import annotations

import numpy as np
import pytest

from app.bandits import POLICIES
from app.bandits.base import argmax_random


@pytest.mark.parametrize("name", ["beta_ts", "stratified_ts"])
def test_the_scalar_path_chooses_as_draw_and_argmax_do(name: str) -> None:
    policy = POLICIES[name]
    rng = np.random.default_rng(5)
    state = policy.init_state(6)
    arms, props = policy.select_many_with_propensities(state, rng, 500)
    state = policy.update(state, arms, (rng.random(500) < 0.05 + 0.02 * arms).astype(float), propensities=props)
    fast, slow = np.random.default_rng(11), np.random.default_rng(11)
    chosen = [policy._select_one(state, fast, None) for _ in range(300)]
    expected = [argmax_random(policy.draw(state, slow, 1)[0], slow) for _ in range(300)]
    assert [arm for arm, _ in chosen] == expected
    assert len(set(expected)) > 1  # the test sees more than one arm win
    probabilities = policy._probs(state, None)
    assert all(p == pytest.approx(float(probabilities[arm])) for arm, p in chosen)
    # a new state (after an update) is not served from the old one's cached arguments
    state2 = policy.update(state, np.zeros(200, dtype=int), np.ones(200), propensities=np.full(200, 0.2))
    fast, slow = np.random.default_rng(12), np.random.default_rng(12)
    chosen = [policy._select_one(state2, fast, None)[0] for _ in range(300)]
    assert chosen == [argmax_random(policy.draw(state2, slow, 1)[0], slow) for _ in range(300)]
    assert policy.scalar_draws(state2) != policy.scalar_draws(state)  # so a stale cache would have shown
