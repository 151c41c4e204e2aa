"""property tests: whatever valid feedback a policy gets, its state stays usable."""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.bandits import POLICIES, PolicyError
from tests.unit.bandits.support import ALL, DIM

SETTINGS = settings(max_examples=40, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])

bounded = st.one_of(st.sampled_from([0.0, 1.0]), st.floats(0.0, 1.0))
unbounded = st.one_of(st.sampled_from([0.0, 1.0]), st.floats(-1e4, 1e4))
event = st.tuples(st.integers(0, 5), bounded, unbounded, st.booleans(), st.floats(0.01, 1.0))


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[str, int, list[list[tuple[Any, ...]]], int]:
    name = draw(st.sampled_from(ALL))
    n_arms = draw(st.integers(1, 6))
    batches = draw(st.lists(st.lists(event, min_size=0, max_size=20), min_size=1, max_size=4))
    return name, n_arms, batches, draw(st.integers(0, 2**32 - 1))


def as_update(
    policy: Any, n_arms: int, events: list[tuple[Any, ...]], n: np.ndarray, s: np.ndarray, rng: np.random.Generator
) -> dict[str, Any]:
    """turn raw draws into a valid batch; a late conversion without room becomes a new trial."""
    arms, rewards, trials, props = [], [], [], []
    for arm, r01, rr, late, p in events:
        arm %= n_arms
        r = r01 if policy.reward_bounds else rr
        late = late and n[arm] > 0 and (policy.reward_bounds is None or s[arm] + r <= n[arm])
        n[arm] += 0 if late else 1
        s[arm] += r
        arms.append(arm), rewards.append(r), trials.append(0 if late else 1), props.append(p)
    size = len(arms)
    return {
        "arms": np.array(arms, dtype=np.int64),
        "rewards": np.array(rewards, dtype=np.float64),
        "trials": np.array(trials, dtype=np.int64),
        "propensities": np.array(props),
        "contexts": rng.normal(0, 3, size=(size, DIM)) if policy.contextual else None,
    }


@SETTINGS
@given(scenarios())
def test_states_stay_valid_under_any_valid_feedback(case: tuple[str, int, list[Any], int]) -> None:
    name, n_arms, batches, seed = case
    policy = POLICIES[name]
    rng = np.random.default_rng(seed)
    state = policy.init_state(n_arms, dim=DIM if policy.contextual else None)
    n, s = np.zeros(n_arms), np.zeros(n_arms)
    for events in batches:
        state = policy.update(state, **as_update(policy, n_arms, events, n, s, rng))
        assert policy.state_from_json(policy.state_to_json(state)) == state
        x = rng.normal(size=DIM) if policy.contextual else None
        probs = policy.arm_probabilities(state, rng, x)
        assert probs.shape == (n_arms,)
        assert np.all(probs >= 0) and np.all(probs <= 1)
        assert abs(probs.sum() - 1) < 1e-9
        sel = policy.select(state, rng, x)
        assert 0 <= sel.arm < n_arms
        assert 0 < sel.propensity <= 1
        assert abs(sel.propensity - probs[sel.arm]) < 1e-12
        xs = rng.normal(size=(7, DIM)) if policy.contextual else None
        arms, props = policy.select_many_with_propensities(state, rng, 7, xs)
        assert arms.dtype.kind == "i" and np.all((arms >= 0) & (arms < n_arms))
        assert np.all((props > 0) & (props <= 1))
    assert np.array_equal(state.n, n)
    np.testing.assert_allclose(state.s, s, rtol=1e-9, atol=1e-6)


junk = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(-3, 8),
    st.text(max_size=2),
    st.none(),
    st.booleans(),
)


@SETTINGS
@given(
    st.sampled_from(ALL),
    st.lists(junk, min_size=1, max_size=3),
    st.lists(junk, min_size=1, max_size=3),
    st.lists(junk, min_size=1, max_size=3),
)
def test_bad_feedback_only_ever_raises_policy_error(
    name: str, arms: list[Any], rewards: list[Any], trials: list[Any]
) -> None:
    policy = POLICIES[name]
    state = policy.init_state(3, dim=DIM if policy.contextual else None)
    contexts = np.ones((len(arms), DIM)) if policy.contextual else None
    try:
        new = policy.update(state, arms, rewards, contexts=contexts, propensities=[0.5] * len(arms), trials=trials)
    except PolicyError as exc:
        assert exc.field in {"arm", "reward", "trials", "context", "propensity"}
    else:
        assert policy.state_from_json(policy.state_to_json(new)) == new
