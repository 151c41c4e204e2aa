"""conversion experiments against independent calculations: scipy quantiles and 10^6-draw Monte Carlo."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from app.stats import ArmTotals, analyze, arm_interval, density_curves
from tests.unit.stats.stats_support import assert_json_ready, assert_ordered, beta_draws, monte_carlo_summary

DRAWS = 1_000_000

CASES = {
    "three_close": [ArmTotals("a", 1000, 50), ArmTotals("b", 1000, 62), ArmTotals("c", 1000, 55)],
    "small_counts": [ArmTotals("a", 120, 3), ArmTotals("b", 80, 5)],
    "mixed_sizes": [ArmTotals("a", 50_000, 2_500), ArmTotals("b", 48_000, 2_450), ArmTotals("c", 30, 1)],
    "five_arms": [ArmTotals(f"v{i}", 4_000 + 500 * i, 200 + 14 * i) for i in range(5)],
}


@pytest.fixture(scope="module", params=sorted(CASES))
def case(request: pytest.FixtureRequest) -> tuple[list[ArmTotals], dict[str, np.ndarray], object]:
    arms = CASES[request.param]
    return arms, monte_carlo_summary(beta_draws(arms, DRAWS)), analyze(arms, "binary")


def test_credible_interval_is_scipy_beta(case) -> None:
    arms, _, analysis = case
    for arm, result in zip(arms, analysis.arms, strict=True):
        posterior = stats.beta(1 + arm.successes, 1 + arm.trials - arm.successes)
        assert result.mean == pytest.approx(posterior.mean(), rel=1e-12)
        assert result.ci_low == pytest.approx(posterior.ppf(0.025), rel=1e-9)
        assert result.ci_high == pytest.approx(posterior.ppf(0.975), rel=1e-9)
        assert result.observed_mean == (arm.successes / arm.trials if arm.trials else 0.0)


def test_prob_best_matches_monte_carlo(case) -> None:
    _, mc, analysis = case
    exact = np.array([a.prob_best for a in analysis.arms])
    assert np.abs(exact - mc["prob_best"]).max() < 0.002
    assert analysis.method == "exact"


def test_expected_loss_matches_monte_carlo(case) -> None:
    _, mc, analysis = case
    for i, arm in enumerate(analysis.arms):
        assert abs(arm.expected_loss - mc["loss"][i]) < 5 * mc["loss_se"][i] + 1e-7


def test_prob_beat_control_matches_monte_carlo(case) -> None:
    _, mc, analysis = case
    assert analysis.arms[0].prob_beat_control == 0.0
    for i, arm in enumerate(analysis.arms[1:], start=1):
        assert abs(arm.prob_beat_control - mc["beat"][i]) < 0.002


def test_lift_interval_matches_ratio_quantiles(case) -> None:
    _, mc, analysis = case
    control = analysis.arms[0]
    for i, arm in enumerate(analysis.arms[1:], start=1):
        assert arm.lift == pytest.approx(arm.observed_mean / control.observed_mean - 1.0, rel=1e-12)
        low, high = mc["ratio_q"][:, i] - 1.0
        width = high - low
        assert abs(arm.lift_ci_low - low) < 0.01 * width
        assert abs(arm.lift_ci_high - high) < 0.01 * width


def test_outputs_are_plain_finite_numbers(case) -> None:
    _, _, analysis = case
    assert_json_ready(analysis)
    assert_ordered(analysis)


def test_custom_prior_changes_the_posterior() -> None:
    arms = [ArmTotals("a", 100, 10), ArmTotals("b", 100, 14)]
    analysis = analyze(arms, "binary", prior=(0.5, 0.5))
    assert analysis.arms[1].ci_high == pytest.approx(stats.beta(14.5, 86.5).ppf(0.975), rel=1e-9)
    mc = monte_carlo_summary(beta_draws(arms, DRAWS, prior=(0.5, 0.5)))
    assert abs(analysis.arms[1].prob_best - mc["prob_best"][1]) < 0.002


def test_zero_trials_everywhere() -> None:
    analysis = analyze([ArmTotals("a", 0), ArmTotals("b", 0), ArmTotals("c", 0)], "binary")
    assert_json_ready(analysis)
    assert_ordered(analysis)
    for arm in analysis.arms:
        assert arm.prob_best == pytest.approx(1 / 3, abs=1e-9)
        assert (arm.ci_low, arm.ci_high) == pytest.approx((0.025, 0.975))
        assert arm.observed_mean == 0.0 and arm.traffic_share == 0.0
    assert analysis.recommendation.kind == "not_enough_data"


def test_single_arm() -> None:
    analysis = analyze([ArmTotals("only", 5000, 250)], "binary")
    assert_json_ready(analysis)
    (arm,) = analysis.arms
    assert (arm.prob_best, arm.expected_loss, arm.lift, arm.prob_beat_control) == (1.0, 0.0, 0.0, 0.0)
    assert analysis.recommendation.kind == "no_difference"
    assert analyze([ArmTotals("only", 5, 1)], "binary").recommendation.kind == "not_enough_data"


@pytest.mark.parametrize("rate", [0.0, 1.0])
def test_all_or_nothing_conversions(rate: float) -> None:
    arms = [ArmTotals("a", 2000, 2000 * rate), ArmTotals("b", 2000, 2000 * rate)]
    analysis = analyze(arms, "binary")
    assert_json_ready(analysis)
    assert_ordered(analysis)
    for arm in analysis.arms:
        assert 0.0 < arm.ci_low < arm.ci_high < 1.0
        assert arm.prob_best == pytest.approx(0.5, abs=1e-9)
        assert arm.observed_mean == rate


def test_huge_counts() -> None:
    arms = [ArmTotals("a", 10**7, 100_000), ArmTotals("b", 10**7, 100_400), ArmTotals("c", 10**7, 99_900)]
    analysis = analyze(arms, "binary")
    assert_json_ready(analysis)
    assert_ordered(analysis)
    mc = monte_carlo_summary(beta_draws(arms, DRAWS))
    assert np.abs(np.array([a.prob_best for a in analysis.arms]) - mc["prob_best"]).max() < 0.002
    # the two-arm comparison is practically normal at this size
    a, b = analysis.arms[0], analysis.arms[1]
    sd = math.hypot((a.ci_high - a.ci_low) / 3.919928, (b.ci_high - b.ci_low) / 3.919928)
    assert b.prob_beat_control == pytest.approx(stats.norm.cdf((b.mean - a.mean) / sd), abs=1e-3)


def test_conversions_above_exposures_are_flagged_not_clipped() -> None:
    # clipping them used to turn broken tracking into "ship a: >99% likely best"
    analysis = analyze([ArmTotals("a", 10, 12), ArmTotals("b", 10, 5)], "binary")
    assert analysis.recommendation.kind == "not_enough_data"
    assert analysis.recommendation.text.startswith("No verdict: the data are impossible")
    assert [w.code for w in analysis.warnings] == ["impossible_data"]
    assert "more conversions (12) than visitors (10)" in analysis.warnings[0].message
    assert all(a.prob_best == 0.0 for a in analysis.arms)


def test_negative_counts_are_flagged() -> None:
    analysis = analyze([ArmTotals("a", -5, 0), ArmTotals("b", 10, 5)], "binary")
    assert analysis.recommendation.kind == "not_enough_data"
    assert "a has negative counts" in analysis.warnings[0].message


def test_an_arm_without_visitors_is_left_out() -> None:
    # it used to compete with its uniform prior (mean 50%) and show a high chance to be best
    arms = [ArmTotals("a", 400, 40), ArmTotals("b", 0, 0), ArmTotals("c", 400, 48)]
    analysis = analyze(arms, "binary")
    with_data = analyze([arms[0], arms[2]], "binary")
    assert analysis.arms[1].prob_best == 0.0 and analysis.arms[1].expected_loss == 0.0
    assert analysis.arms[0].prob_best == pytest.approx(with_data.arms[0].prob_best, abs=1e-12)
    assert analysis.arms[2].prob_best == pytest.approx(with_data.arms[1].prob_best, abs=1e-12)
    assert [w.code for w in analysis.warnings] == ["no_visitors"]


def test_traffic_share_is_carried_through() -> None:
    arms = [ArmTotals("a", 300, 10, traffic_share=0.2), ArmTotals("b", 100, 5, traffic_share=0.8)]
    assert [a.traffic_share for a in analyze(arms, "binary").arms] == [0.2, 0.8]
    arms = [ArmTotals("a", 300, 10), ArmTotals("b", 100, 5)]
    assert [a.traffic_share for a in analyze(arms, "binary").arms] == [0.75, 0.25]


def test_non_default_control() -> None:
    arms = [ArmTotals("a", 1000, 70), ArmTotals("b", 1000, 50)]
    analysis = analyze(arms, "binary", control=1)
    assert analysis.control == 1
    assert analysis.arms[1].lift == 0.0
    assert analysis.arms[0].lift == pytest.approx(0.07 / 0.05 - 1)
    assert analysis.arms[0].prob_beat_control > 0.95


def test_many_arms_fall_back_to_monte_carlo() -> None:
    arms = [ArmTotals(f"v{i}", 2000, 100 + i) for i in range(70)]
    analysis = analyze(arms, "binary")
    assert analysis.method == "monte_carlo"
    assert_json_ready(analysis)
    assert_ordered(analysis)
    mc = monte_carlo_summary(beta_draws(arms, 200_000))
    assert np.abs(np.array([a.prob_best for a in analysis.arms]) - mc["prob_best"]).max() < 0.01


def test_ill_conditioned_quadrature_falls_back(monkeypatch: pytest.MonkeyPatch) -> None:
    import app.stats.analysis as analysis_module
    from app.stats import quadrature

    def flagged(post: object, order: int = 8) -> quadrature.Best:
        real = quadrature.exact(post, order)  # type: ignore[arg-type]
        return quadrature.Best(real.prob_best, real.expected_max, np.zeros_like(real.well_conditioned))

    monkeypatch.setattr(analysis_module, "exact", flagged)
    arms = CASES["three_close"]
    result = analysis_module.analyze(arms, "binary")
    assert result.method == "monte_carlo"
    reference = analyze(arms, "binary")
    for fallback, exact in zip(result.arms, reference.arms, strict=True):
        assert abs(fallback.prob_best - exact.prob_best) < 0.005


def test_invalid_experiments() -> None:
    with pytest.raises(ValueError, match="at least one arm"):
        analyze([], "binary")
    with pytest.raises(ValueError, match="control"):
        analyze([ArmTotals("a", 10, 1)], "binary", control=3)


def test_invalid_counters() -> None:
    with pytest.raises(ValueError):
        ArmTotals("a", 10, float("nan"))
    with pytest.raises(ValueError):
        analyze([ArmTotals("a", 10, 1)], "binary", prior=(0.0, 1.0))
    with pytest.raises(ValueError):
        analyze([ArmTotals("a", 10, 1)], "ratio")  # type: ignore[arg-type]


def test_density_curves_match_scipy() -> None:
    arms = CASES["three_close"] + [ArmTotals("d", 0)]
    x, y = density_curves(arms, "binary")
    assert x.shape == (200,) and y.shape == (4, 200)
    posteriors = [stats.beta(1 + a.successes, 1 + a.trials - a.successes) for a in arms]
    assert x[0] == pytest.approx(min(p.ppf(0.001) for p in posteriors), rel=1e-9)
    assert x[-1] == pytest.approx(max(p.ppf(0.999) for p in posteriors), rel=1e-9)
    for curve, posterior in zip(y, posteriors, strict=True):
        assert np.allclose(curve, posterior.pdf(x), rtol=1e-9, atol=1e-12)
    assert np.isfinite(y).all() and (y >= 0).all()


def test_density_curves_of_narrow_posteriors() -> None:
    x, y = density_curves([ArmTotals("a", 10**7, 10**5), ArmTotals("b", 10**7, 10**5 + 500)], "binary", points=50)
    assert x.shape == (50,) and np.isfinite(y).all()
    for curve in y:
        assert np.trapezoid(curve, x) == pytest.approx(0.999, abs=0.01)


@pytest.mark.parametrize("n, s", [(100, 7), (3, 1), (10**7, 123_456), (20, 19)])
def test_arm_interval_binary_is_scipy(n: int, s: int) -> None:
    mean, low, high = arm_interval("binary", n, s, s)
    posterior = stats.beta(1 + s, 1 + n - s)
    assert mean == s / n
    assert low == pytest.approx(posterior.ppf(0.025), rel=1e-9)
    assert high == pytest.approx(posterior.ppf(0.975), rel=1e-9)
    _, low90, high90 = arm_interval("binary", n, s, s, level=0.9)
    assert low < low90 < high90 < high


def test_arm_interval_binary_edges() -> None:
    assert arm_interval("binary", 0, 0, 0) == pytest.approx((0.5, 0.025, 0.975))
    mean, low, high = arm_interval("binary", 50, 0, 0)
    assert (mean, low) == (0.0, 0.0) and high == pytest.approx(stats.beta(1, 51).ppf(0.975))
    mean, low, high = arm_interval("binary", 50, 50, 50)
    assert (mean, high) == (1.0, 1.0) and low == pytest.approx(stats.beta(51, 1).ppf(0.025))
    with pytest.raises(ValueError):
        arm_interval("binary", 10, 1, 1, level=1.0)


def test_beta_support_bounds_hold_the_mass() -> None:
    from app.stats.binary import BetaPosterior

    shapes = np.array([0.5, 1.0, 2.0, 5.0, 30.0, 1e3, 1e5, 1e7])
    a, b = (x.ravel() for x in np.meshgrid(shapes, shapes))
    low, high = BetaPosterior(a, b).bounds()
    outside = stats.beta.cdf(low, a, b) + stats.beta.sf(high, a, b)
    assert outside.max() < 1e-10
