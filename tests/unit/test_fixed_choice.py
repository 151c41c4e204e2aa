"""the hot path's choice for a fixed split, from a published config (no stores involved)."""

from __future__ import annotations

import numpy as np

from app.domain.decisions.services import fixed_choice
from app.runtime.hotcache import ExperimentRuntime, fixed_split, initial_state
from app.runtime.records import ArmConfig, ExperimentConfig
from app.targeting.split import Split, layout


def runtime(weights: list[float], n_arms: int, split: list | None = None) -> ExperimentRuntime:
    ranges = [list(r) for r in layout(weights)] if split is None else split
    config = ExperimentConfig(
        id="e1", organization_id="o1", key="k", name="n", site_id=None, protocol="beta_ts", protocol_params={},
        context_dim=None, reward_mode="conversion", status="running", traffic_percent=100.0, control_index=0,
        winner_index=None, seed=1, attribution_window_seconds=60,
        arms=[ArmConfig(index=i, name=f"a{i}", metadata={}, payload={}) for i in range(n_arms)],
        allocation="fixed", weights=weights, split=ranges,
    )  # fmt: skip
    policy, state = initial_state(config)
    return ExperimentRuntime(config, b"", policy, state, None, np.random.default_rng(0), split=fixed_split(config))


def test_known_visitors_get_the_split_arm_and_its_weight_as_propensity() -> None:
    rt = runtime([0.1, 0.9], 2)
    split = Split(layout([0.1, 0.9]))
    for i in range(500):
        arm, propensity, reason = fixed_choice(rt, f"v{i}")
        assert arm == split.arm_for("e1", f"v{i}") and propensity == [0.1, 0.9][arm] and reason == "policy"


def test_anonymous_visitors_still_follow_the_weights() -> None:
    rt = runtime([0.25, 0.75], 2)
    arms = np.array([fixed_choice(rt, "")[0] for _ in range(4000)])
    assert abs(arms.mean() - 0.75) < 0.03


def test_a_split_that_no_longer_fits_the_arms_serves_equal_shares() -> None:
    rt = runtime([0.5, 0.5], 3)  # the pool gained an arm after the weights were set
    assert rt.split is None
    choices = [fixed_choice(rt, f"v{i}") for i in range(3000)]
    counts = np.bincount([c[0] for c in choices], minlength=3)
    assert counts.min() > 900 and {c[1] for c in choices} == {1 / 3}
