"""the classic analysis against statsmodels and scipy, and the always-valid p-value under daily peeking."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats
from statsmodels.stats.proportion import confint_proportions_2indep, proportion_confint, proportions_ztest
from statsmodels.stats.weightstats import CompareMeans

from app.stats.frequentist import (
    Sample,
    always_valid_p_values,
    compare_means,
    compare_proportions,
    confidence_sequence,
    mixture_scale,
    msprt_p_value,
    srm_p_value,
    wilson_interval,
)

CASES = [(12, 400, 30, 410), (0, 50, 3, 60), (480, 10_000, 560, 10_050), (9, 10, 7, 12), (33, 1000, 33, 1000)]


@pytest.mark.parametrize(("x0", "n0", "x1", "n1"), CASES)
def test_proportions_match_statsmodels(x0: int, n0: int, x1: int, n1: int) -> None:
    for x, n in ((x0, n0), (x1, n1)):
        low, high = proportion_confint(x, n, alpha=0.05, method="wilson")
        assert wilson_interval(x, n) == pytest.approx((low, high), abs=1e-6)
    result = compare_proportions(Sample(n1, x1, x1), Sample(n0, x0, x0))
    _, p_value = proportions_ztest([x1, x0], [n1, n0]) if x0 + x1 else (0.0, 1.0)
    assert result.p_value == pytest.approx(p_value, abs=1e-6)
    low, high = confint_proportions_2indep(x1, n1, x0, n0, method="wald", compare="diff")
    assert (result.diff_ci_low, result.diff_ci_high) == pytest.approx((low, high), abs=1e-6)
    assert result.diff == pytest.approx(x1 / n1 - x0 / n0, abs=1e-12)
    if x0 and x1:
        low, high = confint_proportions_2indep(x1, n1, x0, n0, method="log", compare="ratio")
        assert (result.lift_ci_low, result.lift_ci_high) == pytest.approx((low - 1, high - 1), abs=1e-6)
        assert result.lift == pytest.approx((x1 / n1) / (x0 / n0) - 1, abs=1e-12)
    else:
        assert result.lift is None


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_welch_matches_scipy_and_statsmodels(seed: int) -> None:
    rng = np.random.default_rng(seed)
    # revenue: most visitors buy nothing, buyers spend a skewed amount
    control = rng.binomial(1, 0.05, 3000) * rng.lognormal(3.0, 1.0, 3000)
    arm = rng.binomial(1, 0.06, 2500) * rng.lognormal(3.1, 1.0, 2500)
    result = compare_means(sample(arm), sample(control))
    assert result.p_value == pytest.approx(stats.ttest_ind(arm, control, equal_var=False).pvalue, abs=1e-6)
    low, high = CompareMeans.from_data(arm, control).tconfint_diff(alpha=0.05, usevar="unequal")
    assert (result.diff_ci_low, result.diff_ci_high) == pytest.approx((low, high), abs=1e-6)
    assert result.diff == pytest.approx(arm.mean() - control.mean(), abs=1e-9)
    assert result.lift_ci_low < result.lift < result.lift_ci_high


def sample(values: np.ndarray) -> Sample:
    return Sample(len(values), float(values.sum()), float((values**2).sum()))


def test_srm_matches_scipy_and_flags_a_skewed_split() -> None:
    assert srm_p_value([5000, 5000], [0.5, 0.5]) == pytest.approx(1.0)
    expected = stats.chisquare([2050, 2950, 5000], [2000, 3000, 5000]).pvalue
    assert srm_p_value([2050, 2950, 5000], [0.2, 0.3, 0.5]) == pytest.approx(expected, abs=1e-12)
    assert srm_p_value([0, 0], [0.5, 0.5]) is None
    assert srm_p_value([10, 3], [1.0, 0.0]) == 0.0
    rng = np.random.default_rng(11)
    # a healthy 50/50 split rarely alarms; one that loses 10% of arm b's exposures (a redirect, a slow page) does
    a = rng.binomial(20_000, 0.5, 500)
    b = 20_000 - a
    healthy_alarms = np.mean([srm_p_value([x, y], [0.5, 0.5]) < 0.001 for x, y in zip(a, b, strict=True)])
    lossy_alarms = np.mean([srm_p_value([x, int(y * 0.9)], [0.5, 0.5]) < 0.001 for x, y in zip(a, b, strict=True)])
    assert healthy_alarms < 0.01 and lossy_alarms > 0.95


def test_the_always_valid_p_value_survives_daily_peeking() -> None:
    """an a/a test read every day for four weeks: the classic p-value 'finds' a winner far more often than
    5%, the always-valid one stays under 5%. seeded and vectorised over repetitions."""
    rng = np.random.default_rng(2026)
    reps, days, per_day, rate = 2000, 28, 500, 0.05
    conv = rng.binomial(per_day, rate, size=(reps, 2, days)).cumsum(axis=2)
    n = per_day * np.arange(1, days + 1)
    classic = np.zeros(reps, bool)
    always = np.zeros(reps, bool)
    as_shipped = np.zeros(reps, bool)
    for r in range(reps):
        diffs, variances, ps, shipped = [], [], [], []
        for d in range(days):
            c = compare_proportions(
                Sample(n[d], conv[r, 1, d], conv[r, 1, d]), Sample(n[d], conv[r, 0, d], conv[r, 0, d])
            )
            ps.append(c.p_value)
            shipped.append(c.always_valid_p_value)  # its mixture scale follows the control's rate at each look
            diffs.append(c.diff)
            se = (c.diff_ci_high - c.diff_ci_low) / (2 * 1.959963984540054)
            variances.append(se * se)
        classic[r] = min(ps) < 0.05
        always[r] = always_valid_p_values(diffs, variances, mixture_scale(rate))[-1] < 0.05
        as_shipped[r] = min(shipped) < 0.05
    print(
        f"a/a, 28 daily looks: classic p<0.05 at some look {classic.mean():.3f}, always-valid {always.mean():.3f}"
        f" (fixed mixture), {as_shipped.mean():.3f} (mixture from the control's rate at each look)"
    )
    assert classic.mean() > 0.15
    assert always.mean() < 0.05 and as_shipped.mean() < 0.05


def test_the_always_valid_p_value_finds_a_real_difference() -> None:
    rng = np.random.default_rng(5)
    reps, n = 300, 40_000
    hits = 0
    for _ in range(reps):
        x0, x1 = rng.binomial(n, 0.05), rng.binomial(n, 0.06)
        hits += compare_proportions(Sample(n, x1, x1), Sample(n, x0, x0)).always_valid_p_value < 0.05
    assert hits / reps > 0.8


def test_the_confidence_sequence_is_wider_and_matches_the_p_value() -> None:
    diff, variance, tau = 0.01, 0.003**2, 0.005
    low, high = confidence_sequence(diff, variance, tau)
    assert low < diff - 1.96 * 0.003 and high > diff + 1.96 * 0.003
    # zero sits outside the 95% sequence exactly when the always-valid p-value is below 0.05
    assert (low > 0) == (msprt_p_value(diff, variance, tau) < 0.05)
    assert msprt_p_value(0.0, variance, tau) == 1.0
