"""the contract every policy keeps: round trips, reproducibility, immutability, errors,
valid probabilities, random tie breaking, batch = sequence, conversion semantics."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest

from app.bandits import POLICIES, PolicyError, Selection
from tests.unit.bandits.support import ALL, DIM, assert_states_close, batch, context, contexts, fresh, trained


def expect_error(field: str, fn: Any, *args: Any, **kwargs: Any) -> None:
    with pytest.raises(PolicyError) as info:
        fn(*args, **kwargs)
    assert info.value.field == field, str(info.value)


@pytest.mark.parametrize("name", ALL)
def test_json_round_trip_is_exact(name: str) -> None:
    for policy, state in (fresh(name), trained(name)):
        text = policy.state_to_json(state)
        assert isinstance(text, str)
        doc = json.loads(text)
        assert (doc["version"], doc["policy"]) == (1, name)
        back = policy.state_from_json(text)
        assert back == state
        assert policy.state_to_json(back) == text
        rng_a, rng_b = np.random.default_rng(3), np.random.default_rng(3)
        x = contexts(policy, np.random.default_rng(4), 50)
        assert np.array_equal(policy.select_many(state, rng_a, 50, x), policy.select_many(back, rng_b, 50, x))


@pytest.mark.parametrize("name", ALL)
def test_state_json_is_checked(name: str) -> None:
    policy, state = trained(name)
    expect_error("state", policy.state_from_json, "{not json")
    expect_error("state", policy.state_from_json, json.dumps({"format": "other"}))
    doc = json.loads(policy.state_to_json(state))
    other = "beta_ts" if name != "beta_ts" else "exp3"
    expect_error("state", policy.state_from_json, json.dumps({**doc, "policy": other}))
    expect_error("state", policy.state_from_json, json.dumps({**doc, "version": 99}))
    expect_error("state", policy.state_from_json, json.dumps({**doc, "n_arms": 5}))
    expect_error("state", POLICIES[other].select, state, np.random.default_rng(0))


@pytest.mark.parametrize("name", ALL)
def test_same_seed_and_events_give_same_decisions(name: str) -> None:
    def run(seed: int) -> list[int]:
        policy, state = fresh(name)
        rng = np.random.default_rng(seed)
        env = np.random.default_rng(99)
        decisions: list[int] = []
        for _ in range(5):
            x = contexts(policy, env, 10)
            arms, props = policy.select_many_with_propensities(state, rng, 10, x)
            one = policy.select(state, rng, context(policy, env))
            decisions += [*arms.tolist(), one.arm]
            rewards = (env.random(10) < 0.3 + 0.1 * arms).astype(float)
            state = policy.update(state, arms, rewards, contexts=x, propensities=props)
        return decisions

    assert run(1) == run(1)
    assert run(1) != run(2)


@pytest.mark.parametrize("name", ALL)
def test_inputs_and_states_are_never_mutated(name: str) -> None:
    policy, state = trained(name)
    before = policy.state_to_json(state)
    events = batch(policy, state, np.random.default_rng(5), 30)
    events["trials"] = np.ones(30, dtype=np.int64)
    copies = {k: None if v is None else v.copy() for k, v in events.items()}
    rng = np.random.default_rng(0)
    policy.select(state, rng, context(policy, rng))
    policy.arm_probabilities(state, rng, context(policy, rng))
    new = policy.update(state, **events)
    assert policy.state_to_json(state) == before
    assert new != state
    for key, value in events.items():
        if value is not None:
            assert np.array_equal(value, copies[key]), key
    for array_name in state.array_names():
        with pytest.raises(ValueError):
            getattr(new, array_name)[0] = 1


@pytest.mark.parametrize("name", ALL)
def test_selection_carries_its_probability(name: str) -> None:
    policy, state = trained(name)
    rng = np.random.default_rng(11)
    for _ in range(20):
        x = context(policy, rng)
        sel = policy.select(state, rng, x)
        assert isinstance(sel, Selection)
        assert isinstance(sel.arm, int) and 0 <= sel.arm < state.n_arms
        assert 0.0 < sel.propensity <= 1.0
        assert sel.propensity == pytest.approx(policy.arm_probabilities(state, rng, x)[sel.arm], rel=1e-12)
    xs = contexts(policy, rng, 40)
    arms, props = policy.select_many_with_propensities(state, rng, 40, xs)
    for i in range(40):
        row = None if xs is None else xs[i]
        assert props[i] == pytest.approx(policy.arm_probabilities(state, rng, row)[arms[i]], rel=1e-12)


@pytest.mark.parametrize("name", ALL)
def test_probabilities_match_observed_traffic(name: str) -> None:
    policy, state = trained(name, events=90)
    rng = np.random.default_rng(8)
    x = context(policy, rng)
    probs = policy.arm_probabilities(state, rng, x)
    assert probs.shape == (state.n_arms,)
    assert probs.min() >= 0 and probs.sum() == pytest.approx(1.0)
    n = 20_000
    xs = None if x is None else np.tile(x, (n, 1))
    freq = np.bincount(policy.select_many(state, rng, n, xs), minlength=state.n_arms) / n
    np.testing.assert_allclose(freq, probs, atol=0.03)


@pytest.mark.parametrize("name", ALL)
def test_ties_are_broken_at_random(name: str) -> None:
    policy, state = fresh(name)
    rng = np.random.default_rng(2)
    xs = None if not policy.contextual else np.tile(rng.standard_normal(DIM), (4000, 1))
    shares = np.bincount(policy.select_many(state, rng, 4000, xs), minlength=4) / 4000
    assert shares.min() > 0.2, shares
    singles = {policy.select(state, rng, None if xs is None else xs[0]).arm for _ in range(60)}
    assert singles == {0, 1, 2, 3}
    # thompson sampling's propensities are monte-carlo estimates
    tolerance = 0.02 if name.endswith("_ts") else 1e-12
    np.testing.assert_allclose(
        policy.arm_probabilities(state, rng, None if xs is None else xs[0]), 0.25, atol=tolerance
    )


@pytest.mark.parametrize("name", ALL)
def test_batch_update_equals_sequential_updates(name: str) -> None:
    policy, state = trained(name)
    events = batch(policy, state, np.random.default_rng(6), 40)
    # late conversions for arms that already have exposures counted
    events["trials"] = np.ones(40, dtype=np.int64)
    events["trials"][30:] = 0
    events["rewards"][30:] = np.minimum(events["rewards"][30:], 0.0) + 1.0 if policy.reward_bounds else 1.0
    events["rewards"][:30] = np.where(np.arange(30) % 2 == 0, 0.0, events["rewards"][:30])
    events["arms"][30:] = events["arms"][:10]
    if events["contexts"] is not None:
        events["contexts"][30:] = events["contexts"][:10]
    at_once = policy.update(state, **events)
    one_by_one = state
    for i in range(40):
        one = {k: None if v is None else v[i : i + 1] for k, v in events.items()}
        one_by_one = policy.update(one_by_one, **one)
    if policy.contextual:
        assert_states_close(at_once, one_by_one)
    else:
        assert at_once == one_by_one


@pytest.mark.parametrize("name", ALL)
def test_late_conversion_equals_explicit_success(name: str) -> None:
    policy, state = trained(name)
    rng = np.random.default_rng(1)
    x = contexts(policy, rng, 1)
    arm = np.array([2])
    p = np.array([0.3])
    exposure = policy.update(state, arm, [0.0], contexts=x, propensities=p, trials=[1])
    converted = policy.update(exposure, arm, [1.0], contexts=x, propensities=p, trials=np.array([False]))
    explicit = policy.update(state, arm, [1.0], contexts=x, propensities=p)
    assert converted.n[2] == explicit.n[2] == state.n[2] + 1
    if policy.contextual:
        assert_states_close(converted, explicit)
    else:
        assert converted == explicit


@pytest.mark.parametrize("name", ALL)
def test_conversion_without_exposure_is_rejected(name: str) -> None:
    policy, state = fresh(name)
    rng = np.random.default_rng(1)
    x = contexts(policy, rng, 1)
    expect_error("trials", policy.update, state, [1], [1.0], contexts=x, propensities=[0.25], trials=np.array([0]))
    if policy.reward_bounds is not None:
        once = policy.update(state, [1], [1.0], contexts=x, propensities=[0.25])
        expect_error("trials", policy.update, once, [1], [1.0], contexts=x, propensities=[0.25], trials=[0])


@pytest.mark.parametrize("name", ALL)
def test_invalid_events_name_the_field(name: str) -> None:
    policy, state = fresh(name)
    rng = np.random.default_rng(0)
    x = contexts(policy, rng, 2)
    good: dict[str, Any] = {"arms": [0, 1], "rewards": [0.0, 1.0], "contexts": x, "propensities": [0.5, 0.5]}

    def bad(field: str, **change: Any) -> None:
        expect_error(field, policy.update, state, **{**good, **change})

    bad("arm", arms=[0, 4])
    bad("arm", arms=[-1, 0])
    bad("arm", arms=[0.0, 1.0])
    bad("arm", arms=[[0, 1]])
    bad("reward", rewards=[0.0])
    bad("reward", rewards=[np.nan, 1.0])
    bad("reward", rewards=[np.inf, 1.0])
    bad("reward", rewards=["a", 1.0])
    bad("trials", trials=[1, 2])
    bad("trials", trials=[1.0, 1.0])
    bad("trials", trials=[1])
    if policy.reward_bounds is not None:
        bad("reward", rewards=[0.0, 1.5])
        bad("reward", rewards=[-0.1, 1.0])
    else:
        policy.update(state, **{**good, "rewards": [-3.5, 120.0]})
    if policy.needs_propensities:
        bad("propensity", propensities=None)
        bad("propensity", propensities=[0.0, 0.5])
        bad("propensity", propensities=[0.5, 1.5])
        bad("propensity", propensities=[0.5, np.nan])
    if policy.contextual:
        bad("context", contexts=None)
        bad("context", contexts=np.ones((2, DIM + 1)))
        bad("context", contexts=np.full((2, DIM), np.nan))
        expect_error("context", policy.select, state, rng, None)
        expect_error("context", policy.select, state, rng, np.ones(DIM + 1))
        expect_error("context", policy.select, state, rng, [np.inf] * DIM)
        expect_error("context", policy.select_many, state, rng, 3, np.ones((2, DIM)))
        expect_error("context", policy.arm_probabilities, state, rng, None)
    expect_error("n", policy.select_many, state, rng, -1)
    empty_x = np.zeros((0, DIM)) if policy.contextual else None
    assert policy.update(state, [], [], contexts=empty_x, propensities=[]) == state
    assert policy.select_many(state, rng, 0, np.zeros((0, DIM)) if policy.contextual else None).shape == (0,)
