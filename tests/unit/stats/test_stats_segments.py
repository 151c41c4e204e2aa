"""per-segment intervals and their multiple-comparison adjustment, against statsmodels and scipy."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import proportion_confint

from app.stats.frequentist import Sample
from app.stats.segments import difference_interval, holm, mean_interval, segment_table


def binary(n: int, successes: int) -> Sample:
    return Sample(float(n), float(successes), float(successes))


def test_holm_matches_statsmodels() -> None:
    rng = np.random.default_rng(4)
    for _ in range(20):
        p = rng.uniform(0, 0.2, size=int(rng.integers(1, 15))).tolist()
        assert holm(p) == pytest.approx(multipletests(p, method="holm")[1].tolist(), abs=1e-12)
    assert holm([]) == []


def test_intervals_match_statsmodels_and_scipy() -> None:
    low, high = mean_interval(binary(400, 37), True)
    assert (low, high) == pytest.approx(proportion_confint(37, 400, alpha=0.05, method="wilson"), abs=1e-9)
    rng = np.random.default_rng(1)
    a, b = rng.gamma(2.0, 10.0, 300), rng.gamma(2.2, 10.0, 250)

    def sample(x: np.ndarray) -> Sample:
        return Sample(float(len(x)), float(x.sum()), float((x * x).sum()))

    low, high = mean_interval(sample(a), False)
    expected = stats.ttest_1samp(a, 0).confidence_interval(0.95)
    assert (low, high) == pytest.approx((expected.low, expected.high), abs=1e-6)
    # welch's interval at a bonferroni level: 99% for five comparisons
    low, high = difference_interval(sample(a), sample(b), False, 0.05 / 5)
    welch = stats.ttest_ind(a, b, equal_var=False).confidence_interval(0.99)
    assert (low, high) == pytest.approx((welch.low, welch.high), abs=1e-6)
    low, high = difference_interval(binary(1000, 120), binary(900, 90), True, 0.01)
    se = np.sqrt(0.12 * 0.88 / 1000 + 0.1 * 0.9 / 900)
    assert (low, high) == pytest.approx((0.02 - 2.5758293035489 * se, 0.02 + 2.5758293035489 * se), abs=1e-9)


def test_the_table_adjusts_for_all_its_comparisons() -> None:
    segments = [
        [binary(1000, 100), binary(1000, 130), binary(1000, 95)],
        [binary(500, 50), binary(500, 51), binary(0, 0)],  # an arm with no visitors in this segment
        [binary(0, 0), binary(10, 1), binary(10, 2)],  # no control: nothing to compare
    ]
    exposures = [[s.n for s in row] for row in segments]
    table, comparisons = segment_table(segments, exposures, control=0, binary=True)
    assert comparisons == 3
    versus = table[0][1].versus
    assert versus is not None and versus.diff == pytest.approx(0.03)
    # the adjusted interval is the 1 - 0.05/3 one, wider than the plain 95% one
    assert (versus.adjusted_low, versus.adjusted_high) == pytest.approx(
        difference_interval(segments[0][1], segments[0][0], True, 0.05 / 3)
    )
    raw = [table[0][1].versus.p_value, table[0][2].versus.p_value, table[1][1].versus.p_value]  # type: ignore[union-attr]
    adjusted = [table[0][1].versus.holm_p_value, table[0][2].versus.holm_p_value, table[1][1].versus.holm_p_value]  # type: ignore[union-attr]
    assert adjusted == pytest.approx(multipletests(raw, method="holm")[1].tolist())
    assert table[1][2].versus is None and table[1][2].low is None
    assert table[2][1].versus is None and table[0][0].versus is None
