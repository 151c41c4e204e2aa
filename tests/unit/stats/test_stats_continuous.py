"""revenue-per-visitor experiments against brute-force posteriors, joint Normal-Gamma draws and simulation."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from app.stats import ArmTotals, analyze, arm_interval, density_curves
from tests.unit.stats.stats_support import (
    assert_json_ready,
    assert_ordered,
    monte_carlo_summary,
    normal_gamma_draws,
)

DRAWS = 1_000_000


def totals(name: str, rewards: np.ndarray) -> ArmTotals:
    return ArmTotals(name, len(rewards), float(rewards.sum()), float((rewards**2).sum()))


def revenue(rng: np.random.Generator, n: int, buy: float, basket: float) -> np.ndarray:
    """mostly zeros, sometimes a gamma-distributed basket."""
    return np.where(rng.random(n) < buy, rng.gamma(2.0, basket / 2.0, n), 0.0)


def _cases() -> dict[str, list[ArmTotals]]:
    rng = np.random.default_rng(7)
    return {
        "normal": [totals("a", rng.normal(10, 4, 200)), totals("b", rng.normal(10.8, 4, 180))],
        "revenue": [totals(n, revenue(rng, 3000, p, 40.0)) for n, p in (("a", 0.05), ("b", 0.056), ("c", 0.052))],
        "tiny": [totals("a", rng.normal(1, 1, 3)), totals("b", rng.normal(1.5, 1, 2))],
    }


CASES = _cases()


@pytest.fixture(scope="module", params=sorted(CASES))
def case(request: pytest.FixtureRequest) -> tuple[list[ArmTotals], dict[str, np.ndarray], object]:
    arms = CASES[request.param]
    return arms, monte_carlo_summary(normal_gamma_draws(arms, DRAWS)), analyze(arms, "continuous")


def grid_posterior(arm: ArmTotals, mu0: float, var0: float, kappa0: float = 1.0, alpha0: float = 1.0):
    """mean, 2.5% and 97.5% points of mu by brute force over a (mu, tau) grid of prior x likelihood."""
    n, s, q = arm.trials, arm.successes, arm.sum_sq
    xbar = s / n
    ss = q - n * xbar**2
    spread = np.sqrt(max(ss / n, var0) / n)
    mu = np.linspace(xbar - 12 * spread, xbar + 12 * spread, 4001)
    log_tau = np.linspace(-12, 8, 3001) - np.log(var0)
    tau = np.exp(log_tau)[:, None]
    squares = ss + n * (xbar - mu[None, :]) ** 2
    log_density = (
        (alpha0 - 0.5 + n / 2.0) * np.log(tau)
        - alpha0 * var0 * tau
        - kappa0 * tau * (mu[None, :] - mu0) ** 2 / 2.0
        - tau * squares / 2.0
        + np.log(tau)  # d tau = tau d log tau
    )
    density = np.exp(log_density - log_density.max()).sum(axis=0)
    density /= density.sum()
    cdf = np.cumsum(density) - density / 2.0
    return float((mu * density).sum()), float(np.interp(0.025, cdf, mu)), float(np.interp(0.975, cdf, mu))


def test_posterior_matches_brute_force_grid() -> None:
    arms = CASES["normal"]
    n = sum(a.trials for a in arms)
    mu0 = sum(a.successes for a in arms) / n
    var0 = (sum(a.sum_sq for a in arms) - n * mu0**2) / (n - 1)
    analysis = analyze(arms, "continuous")
    for arm, result in zip(arms, analysis.arms, strict=True):
        mean, low, high = grid_posterior(arm, mu0, var0)
        width = result.ci_high - result.ci_low
        assert result.mean == pytest.approx(mean, abs=1e-4 * width)
        assert result.ci_low == pytest.approx(low, abs=2e-4 * width)
        assert result.ci_high == pytest.approx(high, abs=2e-4 * width)


def test_interval_matches_joint_draws(case) -> None:
    arms, _, analysis = case
    draws = normal_gamma_draws(arms, 200_000)
    for samples, result in zip(draws, analysis.arms, strict=True):
        low, high = np.quantile(samples, [0.025, 0.975])
        width = result.ci_high - result.ci_low
        assert abs(result.ci_low - low) < 0.02 * width
        assert abs(result.ci_high - high) < 0.02 * width


def test_prob_best_matches_monte_carlo(case) -> None:
    _, mc, analysis = case
    exact = np.array([a.prob_best for a in analysis.arms])
    assert np.abs(exact - mc["prob_best"]).max() < 0.002


def test_expected_loss_matches_monte_carlo(case) -> None:
    _, mc, analysis = case
    for i, arm in enumerate(analysis.arms):
        assert abs(arm.expected_loss - mc["loss"][i]) < 5 * mc["loss_se"][i] + 1e-9


def test_beat_control_and_lift_match_monte_carlo(case) -> None:
    _, mc, analysis = case
    control = analysis.arms[0]
    for i, arm in enumerate(analysis.arms[1:], start=1):
        assert abs(arm.prob_beat_control - mc["beat"][i]) < 0.002
        assert arm.lift == pytest.approx(arm.observed_mean / control.observed_mean - 1.0, rel=1e-12)
        low, high = mc["ratio_q"][:, i] - 1.0
        assert abs(arm.lift_ci_low - low) < 0.01 * (high - low)
        assert abs(arm.lift_ci_high - high) < 0.01 * (high - low)


def test_outputs_are_plain_finite_numbers(case) -> None:
    _, _, analysis = case
    assert_json_ready(analysis)
    assert_ordered(analysis)


def test_credible_interval_coverage_in_simulation() -> None:
    rng = np.random.default_rng(11)
    covered = 0
    runs = 400
    for _ in range(runs):
        arms = [totals("a", rng.normal(3.0, 5.0, 60)), totals("b", rng.normal(3.5, 5.0, 60))]
        result = analyze(arms, "continuous").arms[0]
        covered += result.ci_low <= 3.0 <= result.ci_high
    assert 0.925 <= covered / runs <= 0.975


def test_identical_rewards_everywhere() -> None:
    analysis = analyze([ArmTotals("a", 1000, 0.0, 0.0), ArmTotals("b", 1000, 0.0, 0.0)], "continuous")
    assert_json_ready(analysis)
    assert_ordered(analysis)
    assert [a.prob_best for a in analysis.arms] == pytest.approx([0.5, 0.5])
    assert analysis.recommendation.kind == "no_difference"
    constant = analyze([ArmTotals("a", 500, 2500.0, 12500.0), ArmTotals("b", 400, 2000.0, 10000.0)], "continuous")
    assert all(a.mean == pytest.approx(5.0) for a in constant.arms)
    assert constant.recommendation.kind == "no_difference"


def test_zero_and_single_observations() -> None:
    arms = [ArmTotals("a", 0), ArmTotals("b", 1, 4.0, 16.0), ArmTotals("c", 2, 3.0, 5.0)]
    analysis = analyze(arms, "continuous")
    assert_json_ready(analysis)
    assert_ordered(analysis)
    assert analysis.recommendation.kind == "not_enough_data"
    nothing = analyze([ArmTotals("a", 0), ArmTotals("b", 0)], "continuous")
    assert_json_ready(nothing)


def test_non_positive_control_mean_has_no_lift() -> None:
    arms = [ArmTotals("a", 100, -50.0, 400.0), ArmTotals("b", 100, 20.0, 400.0)]
    analysis = analyze(arms, "continuous")
    assert_json_ready(analysis)
    assert all(a.lift == a.lift_ci_low == a.lift_ci_high == 0.0 for a in analysis.arms)


def test_huge_counts() -> None:
    n = 10**7
    arms = [ArmTotals("a", n, 2.0 * n, (25.0 + 4.0) * n), ArmTotals("b", n, 2.003 * n, (25.0 + 2.003**2) * n)]
    analysis = analyze(arms, "continuous")
    assert_json_ready(analysis)
    assert_ordered(analysis)
    sd = np.sqrt(2 * 25.0 / n)
    assert analysis.arms[1].prob_beat_control == pytest.approx(stats.norm.cdf(0.003 / sd), abs=1e-3)


def test_density_curves_are_student_t() -> None:
    arms = CASES["normal"]
    analysis = analyze(arms, "continuous")
    x, y = density_curves(arms, "continuous", points=120)
    assert x.shape == (120,) and y.shape == (2, 120)
    for curve, result in zip(y, analysis.arms, strict=True):
        assert np.trapezoid(curve, x) == pytest.approx(0.998, abs=0.01)
        assert x[np.argmax(curve)] == pytest.approx(result.mean, abs=2 * (x[1] - x[0]))
    flat_x, flat_y = density_curves([ArmTotals("a", 10, 0.0, 0.0)], "continuous")
    assert np.isfinite(flat_x).all() and np.isfinite(flat_y).all() and flat_x[-1] > flat_x[0]


@pytest.mark.parametrize("rewards", [[1.0, 2.0, 4.0], [0.0] * 50 + [30.0] * 3, list(np.linspace(-5, 5, 1000))])
def test_arm_interval_continuous_is_student_t(rewards: list[float]) -> None:
    data = np.array(rewards)
    mean, low, high = arm_interval("continuous", len(data), float(data.sum()), float((data**2).sum()))
    expected = stats.t.interval(0.95, len(data) - 1, loc=data.mean(), scale=stats.sem(data))
    assert mean == pytest.approx(data.mean(), rel=1e-12, abs=1e-12)
    assert (low, high) == pytest.approx(expected, rel=1e-9)


def test_arm_interval_continuous_edges() -> None:
    assert arm_interval("continuous", 0, 0.0, 0.0) == (0.0, 0.0, 0.0)
    assert arm_interval("continuous", 1, 7.5, 56.25) == (7.5, 7.5, 7.5)
    assert arm_interval("continuous", 10, 30.0, 90.0) == (3.0, 3.0, 3.0)
    with pytest.raises(ValueError):
        arm_interval("continuous", 3, float("inf"), 1.0)
    with pytest.raises(ValueError):
        arm_interval("count", 3, 1.0, 1.0)  # type: ignore[arg-type]
