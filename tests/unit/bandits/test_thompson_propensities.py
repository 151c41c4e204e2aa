"""thompson propensities are exact: against an independent integral, a large monte-carlo and tiny chances."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import integrate, stats

from app.bandits import get_policy


def beta_state(successes: list[float], trials: list[float]):  # type: ignore[no-untyped-def]
    policy = get_policy("beta_ts")
    state = policy.init_state(len(trials))
    arms = np.repeat(np.arange(len(trials)), np.asarray(trials, dtype=int))
    outcomes = [np.r_[np.ones(int(s)), np.zeros(int(n - s))] for s, n in zip(successes, trials, strict=True)]
    rewards = np.concatenate(outcomes)
    return policy, policy.update(state, arms, rewards)


def two_arm_win(a: tuple[float, float], b: tuple[float, float]) -> float:
    """P(X_b > X_a) for independent betas, by scipy's adaptive quadrature: an independent reference."""
    value, _ = integrate.quad(lambda x: stats.beta.pdf(x, *b) * stats.beta.cdf(x, *a), 0, 1, epsabs=1e-14, limit=200)
    return float(value)


@pytest.mark.parametrize(
    ("successes", "trials"),
    [([30, 40], [1000, 1000]), ([20, 60], [1000, 1000]), ([2, 9], [40, 40]), ([5, 60], [1000, 1000])],
)
def test_two_arms_match_an_independent_integral_to_one_part_in_a_million(successes, trials) -> None:
    policy, state = beta_state(successes, trials)
    probs = policy.arm_probabilities(state)
    a = (1 + successes[0], 1 + trials[0] - successes[0])
    b = (1 + successes[1], 1 + trials[1] - successes[1])
    reference = two_arm_win(a, b)
    assert probs[1] == pytest.approx(reference, rel=1e-6)
    assert probs.sum() == pytest.approx(1.0, abs=1e-12)


def test_a_tiny_chance_is_right_not_inflated() -> None:
    # about 5e-6; monte-carlo with +0.5 smoothing over 4,096 draws logged 1.2e-4 here, 24x too high
    policy, state = beta_state([40, 88], [1000, 1000])
    probs = policy.arm_probabilities(state)
    reference = two_arm_win((89, 913), (41, 961))
    assert 4e-6 < reference < 6e-6
    assert probs[0] == pytest.approx(reference, rel=1e-4)


def test_many_arms_agree_with_a_large_monte_carlo_within_one_percent() -> None:
    successes, trials = [30, 40, 35, 38, 12], [1000, 1000, 1000, 1000, 600]
    policy, state = beta_state(successes, trials)
    probs = policy.arm_probabilities(state)
    a = 1 + np.array(successes, dtype=float)
    b = 1 + np.array(trials, dtype=float) - a + 1
    draws = np.random.default_rng(5).beta(a, b, size=(2_000_000, 5))
    shares = np.bincount(draws.argmax(axis=1), minlength=5) / draws.shape[0]
    moderate = shares > 0.05
    np.testing.assert_allclose(probs[moderate], shares[moderate], rtol=0.01)


def test_gaussian_thompson_is_exact_too() -> None:
    policy = get_policy("gaussian_ts")
    rng = np.random.default_rng(3)
    arms = np.repeat(np.arange(3), 200)
    rewards = rng.lognormal(np.repeat([0.0, 0.1, 0.05], 200), 1.0)
    state = policy.update(policy.init_state(3), arms, rewards)
    probs = policy.arm_probabilities(state)
    samples = policy.draw(state, np.random.default_rng(9), 2_000_000)  # type: ignore[attr-defined]
    shares = np.bincount(samples.argmax(axis=1), minlength=3) / samples.shape[0]
    np.testing.assert_allclose(probs[shares > 0.05], shares[shares > 0.05], rtol=0.01)


def test_selection_propensities_are_positive_and_deterministic() -> None:
    policy, state = beta_state([0, 300], [1000, 1000])
    first = policy.select(state, np.random.default_rng(1))
    probs = policy.arm_probabilities(state)
    assert (probs > 0).all() and probs[0] < 1e-10
    assert first.propensity == pytest.approx(probs[first.arm])
    again = policy.state_from_json(policy.state_to_json(state))
    np.testing.assert_array_equal(policy.arm_probabilities(again), probs)


def test_stratified_thompson_is_exact_too() -> None:
    policy = get_policy("stratified_ts")
    rng = np.random.default_rng(4)
    arms = rng.integers(3, size=3000)
    rewards = (rng.random(3000) < np.array([0.04, 0.06, 0.05])[arms]).astype(np.float64)
    state = policy.update(policy.init_state(3), arms, rewards)
    probs = policy.arm_probabilities(state)
    samples = policy.draw(state, np.random.default_rng(9), 2_000_000)  # type: ignore[attr-defined]
    shares = np.bincount(samples.argmax(axis=1), minlength=3) / samples.shape[0]
    assert probs.sum() == pytest.approx(1.0, abs=1e-12)
    np.testing.assert_allclose(probs[shares > 0.05], shares[shares > 0.05], rtol=0.01)
