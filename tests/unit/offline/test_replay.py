"""the replay method and target policies built from the bandit engine, on logs with a known truth."""

from __future__ import annotations

import numpy as np
import pytest

from app.bandits import PolicyError, get_policy
from app.offline.events import LoggedEvents
from app.offline.policies import replay, target_probabilities

RATES = np.array([0.05, 0.08, 0.12])


def stationary_log(rng: np.random.Generator, n: int, logging: np.ndarray) -> LoggedEvents:
    arms = rng.choice(RATES.size, size=n, p=logging)
    rewards = (rng.random(n) < RATES[arms]).astype(np.float64)
    return LoggedEvents(np.arange(n, dtype=np.float64), arms, logging[arms], rewards, None)


def online_value(seed: int, steps: int) -> float:
    """beta_ts run live on the true arms for ``steps`` visitors, learning in batches of 10 as replay does."""
    rng = np.random.default_rng(seed)
    policy = get_policy("beta_ts")
    state = policy.init_state(RATES.size)
    total = 0.0
    for start in range(0, steps, 10):
        arms = policy.select_many(state, rng, min(10, steps - start))
        rewards = (rng.random(arms.size) < RATES[arms]).astype(np.float64)
        total += rewards.sum()
        state = policy.update(state, arms, rewards)
    return total / steps


def test_uniform_target_on_a_skewed_log_is_the_mean_rate_thanks_to_rejection_sampling() -> None:
    values = []
    for seed in range(40):
        log = stationary_log(np.random.default_rng(seed), 20_000, np.array([0.7, 0.2, 0.1]))
        estimate, kept = replay("uniform", {}, 3, log, np.random.default_rng(1000 + seed))
        assert 0 < kept < log.size
        values.append(estimate.value)
    # the naive logged mean would be near 0.071; the uniform policy earns the plain mean, 0.0833
    assert np.mean(values) == pytest.approx(RATES.mean(), abs=0.004)
    assert abs(log.rewards.mean() - RATES.mean()) > 0.01


@pytest.mark.slow
def test_replay_of_a_learning_policy_matches_running_it_live() -> None:
    replayed, live = [], []
    for seed in range(12):
        log = stationary_log(np.random.default_rng(seed), 6000, np.full(3, 1 / 3))
        estimate, kept = replay("beta_ts", {}, 3, log, np.random.default_rng(500 + seed))
        replayed.append(estimate.value)
        live.append(online_value(900 + seed, kept))
    # both learn: well above the uniform policy's 0.083, and equal within noise
    assert np.mean(live) > 0.095
    assert np.mean(replayed) == pytest.approx(np.mean(live), abs=0.008)


def test_target_probabilities_of_a_trained_policy_favour_the_best_arm() -> None:
    log = stationary_log(np.random.default_rng(7), 20_000, np.full(3, 1 / 3))
    probs = target_probabilities("beta_ts", {}, 3, log.head(10_000), log.tail_from(10_000))
    assert probs.shape == (10_000, 3)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0)
    assert probs[0].argmax() == 2 and probs[0, 2] > 0.8
    fresh = target_probabilities("beta_ts", {}, 3, log.head(0), log.tail_from(10_000))
    np.testing.assert_allclose(fresh[0], 1 / 3, atol=0.05)


def test_contextual_targets_need_contexts() -> None:
    log = stationary_log(np.random.default_rng(1), 100, np.full(3, 1 / 3))
    with pytest.raises(PolicyError) as caught:
        target_probabilities("lin_ucb", {}, 3, log.head(50), log.tail_from(50))
    assert caught.value.field == "policy"


def test_rewards_outside_a_policys_bounds_are_a_clear_error() -> None:
    log = stationary_log(np.random.default_rng(1), 100, np.full(3, 1 / 3))
    revenue = LoggedEvents(log.timestamps, log.arms, log.propensities, log.rewards * 40.0, None)
    with pytest.raises(PolicyError) as caught:
        target_probabilities("beta_ts", {}, 3, revenue.head(50), revenue.tail_from(50))
    assert caught.value.field == "reward"
