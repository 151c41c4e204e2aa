"""robust_update: the events a policy refuses are found and set aside, everything else is learnt in order."""

from __future__ import annotations

import numpy as np
import pytest

from app.bandits import get_policy
from app.runtime.records import ArmConfig, Event, ExperimentConfig
from app.runtime.rewards import acceptable
from app.worker.robust import finite, robust_update


def _event(arm: int, reward: float, trials: int, kind: str = "f") -> Event:
    return Event(kind=kind, experiment="e", arm=arm, reward=reward, trials=trials, ts=0.0)


def _config(reward_max: float = 10_000.0) -> ExperimentConfig:
    return ExperimentConfig(
        id="e", organization_id="o", key="k", name="n", site_id=None, protocol="gaussian_ts", protocol_params={},
        context_dim=None, reward_mode="explicit", status="running", traffic_percent=100.0, control_index=0,
        winner_index=None, seed=1, attribution_window_seconds=3600,
        arms=[ArmConfig(index=0, name="a"), ArmConfig(index=1, name="b")], reward_max=reward_max,
    )  # fmt: skip


def test_acceptable_bounds_rewards_and_arms() -> None:
    config = _config(reward_max=100.0)
    assert acceptable(config, _event(0, 100.0, 1)) and acceptable(config, _event(1, -100.0, 1))
    assert not acceptable(config, _event(0, 100.5, 1))
    assert not acceptable(config, _event(0, float("nan"), 1))
    assert not acceptable(config, _event(2, 1.0, 1))
    assert acceptable(config, _event(0, 0.0, 1, kind="x"))


@pytest.mark.parametrize("seed", range(5))
def test_conversions_without_exposure_are_set_aside_and_the_rest_learnt(seed: int) -> None:
    rng = np.random.default_rng(seed)
    policy = get_policy("beta_ts")
    state = policy.init_state(n_arms=3)
    events: list[Event] = []
    bad: list[int] = []
    for _ in range(300):
        arm = int(rng.integers(0, 2))  # arm 2 never has an exposure
        events.append(_event(arm, 0.0, 1, "x"))
        if rng.random() < 0.3:
            events.append(_event(arm, 1.0, 0))
        if rng.random() < 0.02:
            bad.append(len(events))
            events.append(_event(2, 1.0, 0))
    outcome = robust_update(policy, state, events, None)
    assert outcome.set_aside == bad
    good = [e for i, e in enumerate(events) if i not in set(bad)]
    expected = policy.update(
        state,
        np.array([e.arm for e in good]),
        np.array([e.reward for e in good]),
        trials=np.array([e.trials for e in good]),
    )
    assert outcome.learnt == len(good)
    assert outcome.state == expected


def test_an_update_that_would_overflow_is_set_aside() -> None:
    policy = get_policy("gaussian_ts")
    state = policy.init_state(n_arms=2)
    events = [_event(0, 5.0, 1), _event(1, 1e300, 1), _event(1, 7.0, 1)]
    outcome = robust_update(policy, state, events, None)
    assert outcome.set_aside == [1] and outcome.learnt == 2
    assert finite(outcome.state)
    assert outcome.state.s.tolist() == [5.0, 7.0]
