"""policy-specific maths: indexes, posteriors, closed forms and linear algebra."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate, stats
from scipy.optimize import brentq

from app.bandits import get_policy
from app.bandits.fpl import leader_probabilities
from app.bandits.kl_ucb import bernoulli_kl, kl_upper_bound
from app.bandits.state import GainState, LinearState, StatsState


def stats_state(name: str, rewards_by_arm: list[list[float]]) -> StatsState:
    policy = get_policy(name)
    state = policy.init_state(len(rewards_by_arm))
    arms = np.concatenate([[k] * len(r) for k, r in enumerate(rewards_by_arm)]).astype(int)
    state = policy.update(state, arms, np.concatenate(rewards_by_arm))
    assert isinstance(state, StatsState)
    return state


@pytest.mark.parametrize("p", [0.0, 1e-9, 0.01, 0.2, 0.5, 0.9, 0.999, 1.0])
@pytest.mark.parametrize("d", [0.0, 1e-6, 0.01, 0.3, 2.0, 40.0])
def test_kl_upper_bound_solves_the_kl_equation(p: float, d: float) -> None:
    q = kl_upper_bound(np.array([p]), np.array([d]))[0]
    if p == 1.0 or d == 0.0:
        assert q == p
        return

    def excess(x: float) -> float:
        return float(bernoulli_kl(np.array(p), np.array(x))) - d

    top = float(np.nextafter(1.0, 0.0))
    if excess(top) < 0:
        # the root is closer to 1 than a double can say
        assert q > 1 - 1e-12
        return
    assert q == pytest.approx(brentq(excess, p, top, xtol=1e-15), abs=1e-9)


def test_kl_ucb_index_uses_log_t() -> None:
    state = stats_state("kl_ucb", [[1, 0, 0, 0], [1, 1, 0], [0.5]])
    t = 8
    expected = [
        kl_upper_bound(np.array([m]), np.array([math.log(t) / n]))[0] for m, n in ((0.25, 4), (2 / 3, 3), (0.5, 1))
    ]
    np.testing.assert_allclose(get_policy("kl_ucb").index(state), expected, rtol=1e-12)  # type: ignore[attr-defined]
    plus = stats_state("kl_ucb_plus", [[1, 0, 0, 0], [1, 1, 0], [0.5]])
    budget = [max(math.log(t / (3 * n)), 0) / n for n in (4, 3, 1)]
    expected = kl_upper_bound(np.array([0.25, 2 / 3, 0.5]), np.array(budget))
    np.testing.assert_allclose(get_policy("kl_ucb_plus").index(plus), expected, rtol=1e-12)  # type: ignore[attr-defined]


def test_ucb1_tuned_and_moss_indexes() -> None:
    rewards = [[1, 0, 1, 1], [0, 0, 1], []]
    state = stats_state("ucb1_tuned", rewards)
    t = 7
    expected = []
    for r in rewards[:2]:
        n, m = len(r), float(np.mean(r))
        v = float(np.var(r)) + math.sqrt(2 * math.log(t) / n)
        expected.append(m + math.sqrt(math.log(t) / n * min(0.25, v)))
    index = get_policy("ucb1_tuned").index(state)  # type: ignore[attr-defined]
    np.testing.assert_allclose(index[:2], expected, rtol=1e-12)
    assert index[2] == np.inf
    moss = stats_state("moss", rewards)
    h = 100_000
    expected = [np.mean(r) + math.sqrt(max(math.log(h / (3 * len(r))), 0) / len(r)) for r in rewards[:2]]
    np.testing.assert_allclose(get_policy("moss").index(moss)[:2], expected, rtol=1e-12)  # type: ignore[attr-defined]


def test_fresh_index_policy_spreads_first_batch_and_then_commits() -> None:
    policy = get_policy("ucb1_tuned")
    state = policy.init_state(3)
    state = policy.update(state, [0, 1, 2], [0.2, 0.9, 0.1])
    assert np.array_equal(policy.arm_probabilities(state), [0.0, 1.0, 0.0])
    assert policy.select(state, np.random.default_rng(0)).propensity == 1.0


def test_gaussian_posterior_matches_sequential_conjugate_updates() -> None:
    rng = np.random.default_rng(0)
    policy = get_policy("gaussian_ts")
    params = {"prior_mean": 1.0, "prior_count": 0.5, "prior_shape": 2.0, "prior_rate": 3.0}
    rewards = rng.normal(5.0, 2.0, size=40)
    state = policy.init_state(2, params)
    state = policy.update(state, np.zeros(40, dtype=int), rewards)
    mu, kappa, alpha, beta = 1.0, 0.5, 2.0, 3.0
    for x in rewards:
        beta += kappa * (x - mu) ** 2 / (2 * (kappa + 1))
        mu = (kappa * mu + x) / (kappa + 1)
        kappa += 1
        alpha += 0.5
    loc, scale, df = policy.posterior(state)  # type: ignore[attr-defined]
    assert loc[0] == pytest.approx(mu, rel=1e-12)
    assert scale[0] == pytest.approx(math.sqrt(beta / (alpha * kappa)), rel=1e-9)
    assert df[0] == pytest.approx(2 * alpha)
    assert (loc[1], df[1]) == (1.0, 4.0)
    assert scale[1] == pytest.approx(math.sqrt(3.0 / (2.0 * 0.5)))


def test_beta_ts_propensities_estimate_the_exact_win_probability() -> None:
    state = stats_state("beta_ts", [[1, 0, 1, 0, 0], [1, 1, 0, 1, 0, 1, 0]])
    a, b = 1 + state.s, 1 + state.n - state.s
    exact, _ = integrate.quad(lambda x: stats.beta.pdf(x, a[1], b[1]) * stats.beta.cdf(x, a[0], b[0]), 0, 1)
    rng = np.random.default_rng(0)
    before = rng.bit_generator.state
    probs = get_policy("beta_ts").arm_probabilities(state, rng)
    assert rng.bit_generator.state == before
    assert probs[1] == pytest.approx(exact, abs=0.02)
    assert probs is not get_policy("beta_ts").arm_probabilities(state, rng)


@pytest.mark.parametrize("seed", range(4))
def test_fpl_closed_form_matches_integral_and_sampling(seed: int) -> None:
    rng = np.random.default_rng(seed)
    k = int(rng.integers(2, 9))
    g = rng.normal(0, 3, size=k)
    eta = float(rng.uniform(0.2, 2.0))
    probs = leader_probabilities(g, eta)
    assert probs.sum() == pytest.approx(1.0, abs=1e-12)
    for arm in range(k):

        def density(y: float, arm: int = arm) -> float:
            f = eta * math.exp(-eta * (y - g[arm])) if y >= g[arm] else 0.0
            for j in range(k):
                if j != arm:
                    f *= max(0.0, 1.0 - math.exp(-eta * (y - g[j])))
            return f

        value, _ = integrate.quad(density, g.max(), g.max() + 60 / eta, limit=200)
        assert probs[arm] == pytest.approx(value, abs=1e-8)
    draws = (g + rng.exponential(size=(200_000, k)) / eta).argmax(axis=1)
    np.testing.assert_allclose(np.bincount(draws, minlength=k) / 200_000, probs, atol=0.006)


def test_exp3_probabilities_are_the_closed_form() -> None:
    policy = get_policy("exp3")
    state = policy.init_state(3, {"gamma": 0.1})
    state = policy.update(state, [0, 1, 1, 2], [1.0, 0.5, 1.0, 0.0], propensities=[0.5, 0.25, 0.5, 0.2])
    assert isinstance(state, GainState)
    np.testing.assert_array_equal(state.g, [2.0, 4.0, 0.0])
    eta = math.sqrt(math.log(3) / (3 * 4))
    w = np.exp(eta * state.g)
    np.testing.assert_allclose(policy.arm_probabilities(state), 0.9 * w / w.sum() + 0.1 / 3, rtol=1e-12)


@pytest.mark.parametrize("name", ["exp3", "fpl"])
def test_adversarial_updates_use_the_served_propensity(name: str) -> None:
    policy = get_policy(name)
    rng = np.random.default_rng(0)
    state = policy.init_state(3)
    served = policy.select(state, rng)
    # the state moves on before the feedback for ``served`` arrives
    for _ in range(20):
        arms, props = policy.select_many_with_propensities(state, rng, 50)
        state = policy.update(state, arms, (arms == (served.arm + 1) % 3).astype(float), propensities=props)
    now = policy.arm_probabilities(state)[served.arm]
    assert abs(now - served.propensity) > 0.05
    after = policy.update(state, [served.arm], [1.0], propensities=[served.propensity])
    assert isinstance(after, GainState) and isinstance(state, GainState)
    assert after.g[served.arm] - state.g[served.arm] == pytest.approx(1.0 / served.propensity, rel=1e-12)
    zero = policy.update(state, [served.arm], [0.0], propensities=[served.propensity])
    assert isinstance(zero, GainState)
    assert np.array_equal(zero.g, state.g) and zero.n[served.arm] == state.n[served.arm] + 1


def test_epsilon_decays_with_exposures_not_feedback_events() -> None:
    policy = get_policy("epsilon_greedy")
    params = {"epsilon": 0.2, "decay": "inverse", "decay_scale": 100}
    state = policy.init_state(4, params)
    assert policy.epsilon(state) == pytest.approx(0.2)  # type: ignore[attr-defined]
    arms = np.arange(300) % 4
    exposed = policy.update(state, arms, np.zeros(300))
    assert policy.epsilon(exposed) == pytest.approx(0.2 / 4)  # type: ignore[attr-defined]
    converted = policy.update(exposed, np.ones(30, dtype=int), np.ones(30), trials=np.zeros(30, dtype=int))
    assert policy.epsilon(converted) == policy.epsilon(exposed)  # type: ignore[attr-defined]
    in_batches = state
    for lo in range(0, 300, 7):
        in_batches = policy.update(in_batches, arms[lo : lo + 7], np.zeros(len(arms[lo : lo + 7])))
    assert policy.epsilon(in_batches) == policy.epsilon(exposed)  # type: ignore[attr-defined]
    probs = policy.arm_probabilities(converted)
    np.testing.assert_allclose(probs, [0.05 / 4, 0.05 / 4 + 0.95, 0.05 / 4, 0.05 / 4])


@pytest.mark.parametrize("name", ["lin_ucb", "lin_ts"])
def test_linear_state_is_exact_ridge_regression(name: str) -> None:
    policy = get_policy(name)
    rng = np.random.default_rng(0)
    dim, ridge = 4, 0.7
    state = policy.init_state(3, {"ridge": ridge}, dim=dim)
    xs, arms, rewards, trials = [], [], [], []
    # mostly single events (sherman-morrison, past the periodic refresh) plus a few batches
    for size in [1] * 300 + [25, 1, 40, 2]:
        x = rng.normal(size=(size, dim))
        a = rng.integers(3, size=size)
        r = rng.normal(size=size)
        t = (rng.random(size) < 0.9).astype(int)
        t[a == a[0]] = 1 if size == 1 else t[a == a[0]]
        t[0] = 1
        state = policy.update(state, a, r, contexts=x, trials=t)
        xs.append(x), arms.append(a), rewards.append(r), trials.append(t)
    x, a, r, t = (np.concatenate(v) for v in (xs, arms, rewards, trials))
    assert isinstance(state, LinearState)
    for k in range(3):
        rows = a == k
        gram = ridge * np.eye(dim) + x[rows & (t == 1)].T @ x[rows & (t == 1)]
        np.testing.assert_allclose(state.a[k], gram, rtol=1e-10)
        np.testing.assert_allclose(state.a_inv[k], np.linalg.inv(gram), rtol=1e-8, atol=1e-12)
        np.testing.assert_allclose(state.b[k], r[rows] @ x[rows], rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(state.theta[k], np.linalg.solve(gram, state.b[k]), rtol=1e-8, atol=1e-12)
        assert state.n[k] == t[rows].sum()


def test_lin_ucb_scores_are_mean_plus_width() -> None:
    policy = get_policy("lin_ucb")
    rng = np.random.default_rng(1)
    state = policy.init_state(4, {"alpha": 0.8}, dim=3)
    x = rng.normal(size=(50, 3))
    state = policy.update(state, rng.integers(4, size=50), rng.normal(size=50), contexts=x)
    assert isinstance(state, LinearState)
    probe = rng.normal(size=3)
    scores = [state.theta[k] @ probe + 0.8 * math.sqrt(probe @ np.linalg.inv(state.a[k]) @ probe) for k in range(4)]
    sel = policy.select(state, rng, probe)
    assert sel.arm == int(np.argmax(scores)) and sel.propensity == 1.0
    assert policy.select_many(state, rng, 1, probe[None, :])[0] == sel.arm
