"""the exploration floor: every arm keeps f/k of the traffic, and the logged propensity is the mixed one."""

from __future__ import annotations

import numpy as np
import pytest

from app.bandits import POLICIES, PolicyError
from app.bandits.floor import check_floor, mix
from tests.unit.bandits.support import ALL, context, contexts, trained

FLOOR = 0.2


@pytest.mark.parametrize("name", ALL)
def test_propensity_is_the_mixed_probability(name: str) -> None:
    policy, state = trained(name, events=90)
    rng = np.random.default_rng(3)
    k = state.n_arms
    for _ in range(30):
        x = context(policy, rng)
        sel = policy.select(state, rng, x, floor=FLOOR)
        own = policy.arm_probabilities(state, rng, x)[sel.arm]
        assert sel.propensity == pytest.approx((1 - FLOOR) * own + FLOOR / k, rel=1e-12)
        assert sel.propensity == pytest.approx(policy.arm_probabilities(state, rng, x, floor=FLOOR)[sel.arm])
        assert sel.propensity >= FLOOR / k
    xs = contexts(policy, rng, 50)
    arms, props = policy.select_many_with_propensities(state, rng, 50, xs, floor=FLOOR)
    for i in range(50):
        row = None if xs is None else xs[i]
        assert props[i] == pytest.approx(policy.arm_probabilities(state, rng, row, floor=FLOOR)[arms[i]], rel=1e-12)


@pytest.mark.parametrize("name", ["beta_ts", "stratified_ts", "ucb1_tuned", "lin_ts", "exp3"])
def test_every_arm_keeps_its_share(name: str) -> None:
    policy, state = trained(name, events=300)
    # make arm 0 a clear winner so the policy alone starves some arm
    rng = np.random.default_rng(4)
    n = 600
    x = contexts(policy, rng, n)
    state = policy.update(state, np.zeros(n, dtype=np.int64), np.ones(n), contexts=x, propensities=np.full(n, 0.9))
    draws = 40_000
    row = context(policy, rng)
    xs = None if row is None else np.tile(row, (draws, 1))
    alone = np.bincount(policy.select_many(state, rng, draws, xs), minlength=4) / draws
    floored = np.bincount(policy.select_many(state, rng, draws, xs, floor=FLOOR), minlength=4) / draws
    assert alone.min() < 0.02, alone
    assert floored.min() > FLOOR / 4 - 0.01, floored
    expected = policy.arm_probabilities(state, rng, row, floor=FLOOR)
    np.testing.assert_allclose(floored, expected, atol=0.01)


@pytest.mark.parametrize("name", ALL)
def test_a_zero_floor_changes_nothing(name: str) -> None:
    policy, state = trained(name)
    x = contexts(policy, np.random.default_rng(0), 30)
    a = policy.select_many(state, np.random.default_rng(9), 30, x)
    b = policy.select_many(state, np.random.default_rng(9), 30, x, floor=0.0)
    np.testing.assert_array_equal(a, b)
    one = None if x is None else x[0]
    assert policy.select(state, np.random.default_rng(5), one) == policy.select(
        state, np.random.default_rng(5), one, floor=0
    )


def test_inverse_propensity_estimates_stay_unbiased() -> None:
    """weighting by the logged (mixed) propensity recovers every arm's rate; the policy's own p would not."""
    policy, state = trained("beta_ts", events=300)
    # a skewed posterior: the other arms get little traffic of their own, mostly the floor's
    state = policy.update(state, np.zeros(200, dtype=np.int64), np.ones(200))
    rates = np.array([0.2, 0.4, 0.6, 0.8])
    rng = np.random.default_rng(11)
    n = 1_000_000
    arms, props = policy.select_many_with_propensities(state, rng, n, floor=0.1)
    rewards = rng.random(n) < rates[arms]
    onehot = arms[:, None] == np.arange(4)
    ipw = (onehot * (rewards / props)[:, None]).mean(axis=0)
    np.testing.assert_allclose(ipw, rates, rtol=0.05)
    own = policy.arm_probabilities(state)[arms]
    naive = (onehot * (rewards / own)[:, None]).mean(axis=0)
    assert np.abs(naive / rates - 1).max() > 0.1


@pytest.mark.parametrize("bad", [-0.01, 1.0, 1.5, float("nan"), float("inf"), "0.1", True, None])
def test_bad_floors_name_the_field(bad: object) -> None:
    with pytest.raises(PolicyError) as info:
        check_floor(bad)
    assert info.value.field == "exploration_floor"
    policy, state = trained("beta_ts")
    with pytest.raises(PolicyError) as info:
        policy.select(state, np.random.default_rng(0), floor=bad)  # type: ignore[arg-type]
    assert info.value.field == "exploration_floor"


def test_mix_keeps_rows_summing_to_one() -> None:
    probs = np.random.default_rng(0).dirichlet(np.ones(5), size=7)
    mixed = mix(probs, 0.3)
    np.testing.assert_allclose(mixed.sum(axis=1), 1.0)
    assert mixed.min() >= 0.3 / 5
    assert mix(probs, 0.0) is probs
    assert POLICIES["beta_ts"].arm_probabilities(trained("beta_ts")[1], floor=0.5).min() >= 0.5 / 4
