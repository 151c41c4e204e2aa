"""the classic view assembled from daily looks: running-minimum always-valid p-value, srm only for a split."""

from __future__ import annotations

import pytest

from app.domain.experiments.classic import classic_results
from app.stats.frequentist import Sample, compare_proportions


def looks_of(days: list[tuple[int, int, int, int]]) -> list[list[Sample]]:
    return [[Sample(n0, x0, x0), Sample(n1, x1, x1)] for n0, x0, n1, x1 in days]


def test_the_always_valid_p_value_keeps_its_lowest_look() -> None:
    # day 2 looked very different, day 3 regressed: the always-valid p-value never goes back up
    looks = looks_of([(1000, 50, 1000, 60), (2000, 90, 2000, 150), (3000, 150, 3000, 175)])
    result = classic_results(["a", "b"], looks, [3000, 3000], 0, True, [0.5, 0.5])
    day2 = compare_proportions(looks[1][1], looks[1][0]).always_valid_p_value
    day3 = compare_proportions(looks[2][1], looks[2][0])
    versus = result.arms[1].versus_control
    assert versus is not None and day2 < day3.always_valid_p_value
    assert versus.always_valid_p_value == pytest.approx(day2)
    # the fixed-horizon figures are the last look's
    assert versus.p_value == pytest.approx(day3.p_value) and versus.diff == pytest.approx(day3.diff)
    assert result.arms[0].versus_control is None and result.srm_p_value == pytest.approx(1.0)


def test_no_looks_and_no_split() -> None:
    result = classic_results(["a", "b"], [], [0, 0], 0, True, None)
    assert result.srm_p_value is None and not result.srm_alarm
    assert all(a.versus_control is None for a in result.arms)
    assert result.arms[0].wilson_low == 0.0 and result.arms[0].wilson_high == 1.0
