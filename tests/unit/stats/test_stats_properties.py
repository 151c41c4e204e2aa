"""hypothesis properties: probabilities, interval order, finiteness and the decision rule hold for any input."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.stats import ArmTotals, DecisionThresholds, ExperimentAnalysis, analyze, arm_interval, time_series
from tests.unit.stats.stats_support import assert_json_ready, assert_ordered

SETTINGS = settings(max_examples=60, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])

trial_counts = st.one_of(st.integers(0, 200), st.integers(0, 100_000), st.integers(10**6, 10**7))


@st.composite
def binary_arm(draw: st.DrawFn, name: str) -> ArmTotals:
    n = draw(trial_counts)
    rate = draw(st.one_of(st.just(0.0), st.just(1.0), st.floats(0.0, 0.3), st.floats(0.0, 1.0)))
    return ArmTotals(name, n, float(round(n * rate)))


@st.composite
def continuous_arm(draw: st.DrawFn, name: str) -> ArmTotals:
    n = draw(trial_counts)
    mean = draw(st.floats(-5.0, 200.0))
    sd = draw(st.one_of(st.just(0.0), st.floats(0.0, 100.0)))
    return ArmTotals(name, n, n * mean, n * (sd * sd + mean * mean))


@st.composite
def experiments(draw: st.DrawFn, arm: object) -> list[ArmTotals]:
    k = draw(st.integers(1, 6))
    return [draw(arm(f"arm{i}")) for i in range(k)]  # type: ignore[operator]


thresholds = st.builds(
    DecisionThresholds,
    prob_best=st.floats(0.6, 0.999),
    max_expected_loss=st.floats(0.0, 0.1),
    min_trials_per_arm=st.integers(0, 1000),
    practical_difference=st.floats(0.0, 0.2),
)


def assert_rule(analysis: ExperimentAnalysis, rules: DecisionThresholds) -> None:
    """the recommendation is the first verdict of the documented rule that applies."""
    rec = analysis.recommendation
    arms = analysis.arms
    means = np.array([a.mean for a in arms])
    reference = means[analysis.control] if means[analysis.control] > 0 else np.abs(means).max()
    tolerance = 1e-9 * max(1.0, reference)
    assert np.isclose(rec.loss_limit, rules.max_expected_loss * reference + tolerance, rtol=1e-9)
    assert np.isclose(rec.equivalence_limit, rules.practical_difference * reference + tolerance, rtol=1e-9)
    leader = int(np.argmax([a.prob_best for a in arms]))
    assert rec.arm == leader and rec.arm_name == arms[leader].name
    losses = [a.expected_loss for a in arms]
    if sum(a.trials for a in arms) < rules.min_trials_per_arm * len(arms):
        assert rec.kind == "not_enough_data" and rec.visitors_needed is not None and rec.visitors_needed > 0
    elif len(arms) == 1 or max(losses) <= rec.equivalence_limit:
        assert rec.kind == "no_difference"
    elif arms[leader].prob_best >= rules.prob_best and arms[leader].expected_loss <= rec.loss_limit:
        # shipping also needs the sequential guard (tested in test_stats_verdict); without it, keep running
        assert rec.kind in ("ship", "keep_running")
    else:
        assert rec.kind == "keep_running" and rec.visitors_needed is not None and rec.visitors_needed >= 1


@SETTINGS
@given(arms=experiments(binary_arm), rules=thresholds, data=st.data())
def test_binary_invariants(arms: list[ArmTotals], rules: DecisionThresholds, data: st.DataObject) -> None:
    control = data.draw(st.integers(0, len(arms) - 1))
    analysis = analyze(arms, "binary", control=control, thresholds=rules)
    assert_json_ready(analysis)
    assert_ordered(analysis)
    for arm in analysis.arms:
        assert 0.0 <= arm.ci_low <= arm.ci_high <= 1.0
    assert_rule(analysis, rules)


@SETTINGS
@given(arms=experiments(continuous_arm), rules=thresholds)
def test_continuous_invariants(arms: list[ArmTotals], rules: DecisionThresholds) -> None:
    analysis = analyze(arms, "continuous", thresholds=rules)
    assert_json_ready(analysis)
    assert_ordered(analysis)
    assert_rule(analysis, rules)


@SETTINGS
@given(
    kind=st.sampled_from(["binary", "continuous"]),
    n=st.integers(0, 10**7),
    fraction=st.floats(0.0, 1.0),
    spread=st.floats(0.0, 50.0),
    level=st.floats(0.5, 0.999),
)
def test_arm_interval_is_ordered_and_finite(kind: str, n: int, fraction: float, spread: float, level: float) -> None:
    reward_sum = float(round(n * fraction)) if kind == "binary" else n * fraction * 10
    mean_value = reward_sum / n if n else 0.0
    squares = n * (spread**2 + mean_value**2)
    mean, low, high = arm_interval(kind, n, reward_sum, squares, level)  # type: ignore[arg-type]
    assert all(np.isfinite([mean, low, high]))
    assert low <= mean <= high


@SETTINGS
@given(
    hours=st.integers(1, 30),
    k=st.integers(1, 4),
    kind=st.sampled_from(["binary", "continuous"]),
    seed=st.integers(0, 2**32 - 1),
)
def test_series_invariants(hours: int, k: int, kind: str, seed: int) -> None:
    rng = np.random.default_rng(seed)
    trials = rng.poisson(rng.uniform(0, 50), (hours, k)).astype(float)
    successes = rng.binomial(trials.astype(int), rng.uniform(0, 1, k)).astype(float)
    series = time_series(trials, successes, kind, sum_sq=successes * 3.0)  # type: ignore[arg-type]
    for values in (series.mean, series.low, series.high, series.prob_best, series.traffic_share):
        assert values.shape == (hours, k) and np.isfinite(values).all()
    assert (series.low <= series.mean).all() and (series.mean <= series.high).all()
    assert np.allclose(series.prob_best.sum(axis=1), 1.0, atol=1e-9)
