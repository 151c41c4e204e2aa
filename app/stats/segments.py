"""results per segment with the multiple comparisons they invite: pure numpy/scipy, no i/o.

a table of 8 segments x 2 variants holds 16 comparisons with the control: with no real difference anywhere,
one of them still shows p < 0.05 more often than not (1 - 0.95^16 = 56%). each segment's own 95% interval is
given as usual, but the difference versus the control gets a bonferroni interval (95% jointly for the
table's comparisons) and holm's adjusted p-value, so what stands out has survived the number of looks.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

from app.stats.frequentist import Sample, compare, wilson_interval

ALPHA = 0.05


@dataclass(frozen=True)
class SegmentVersus:
    diff: float
    # bonferroni: the interval of the difference at level 1 - ALPHA / comparisons
    adjusted_low: float
    adjusted_high: float
    p_value: float
    # holm's step-down adjustment over the table's comparisons
    holm_p_value: float


@dataclass(frozen=True)
class SegmentArm:
    arm: int
    exposures: int
    sample: Sample
    low: float | None
    high: float | None
    versus: SegmentVersus | None


def mean_interval(sample: Sample, binary: bool, alpha: float = ALPHA) -> tuple[float | None, float | None]:
    """the arm's 95% interval: wilson's for a rate, student's t for a mean (none below two trials)."""
    if sample.n <= 0:
        return None, None
    if binary:
        return wilson_interval(sample.total, sample.n, float(stats.norm.ppf(1 - alpha / 2)))
    if sample.n < 2:
        return None, None
    half = float(stats.t.ppf(1 - alpha / 2, sample.n - 1)) * math.sqrt(sample.variance / sample.n)
    return sample.mean - half, sample.mean + half


def difference_interval(arm: Sample, control: Sample, binary: bool, alpha: float) -> tuple[float, float]:
    """the interval of arm - control at level 1 - alpha: wald (unpooled) for rates, welch for means."""
    diff = arm.mean - control.mean
    if binary:
        p1, p0 = arm.mean, control.mean
        se = math.sqrt(p1 * (1 - p1) / arm.n + p0 * (1 - p0) / control.n)
        q = float(stats.norm.ppf(1 - alpha / 2))
        return diff - q * se, diff + q * se
    if arm.n < 2 or control.n < 2:
        return -math.inf, math.inf
    a, b = arm.variance / arm.n, control.variance / control.n
    se = math.sqrt(a + b)
    if se == 0:
        return diff, diff
    df = (a + b) ** 2 / (a * a / (arm.n - 1) + b * b / (control.n - 1))
    q = float(stats.t.ppf(1 - alpha / 2, df))
    return diff - q * se, diff + q * se


def holm(p_values: Sequence[float]) -> list[float]:
    """holm's step-down adjusted p-values (statsmodels' multipletests(method="holm"))."""
    m = len(p_values)
    if m == 0:
        return []
    order = np.argsort(p_values, kind="stable")
    ranked = np.asarray(p_values, dtype=float)[order] * (m - np.arange(m))
    adjusted = np.minimum(1.0, np.maximum.accumulate(ranked))
    result = np.empty(m)
    result[order] = adjusted
    return [float(p) for p in result]


def segment_table(
    segments: Sequence[Sequence[Sample]],
    exposures: Sequence[Sequence[float]],
    control: int,
    binary: bool,
    alpha: float = ALPHA,
) -> tuple[list[list[SegmentArm]], int]:
    """per segment (rows of per-arm samples) each arm's interval and, versus the control of the same segment,
    its difference with a bonferroni interval and holm p-value over all the table's comparisons; and the
    number of comparisons."""
    pairs = [
        (s, a)
        for s, arms in enumerate(segments)
        for a in range(len(arms))
        if a != control and arms[a].n > 0 and arms[control].n > 0
    ]
    m = max(1, len(pairs))
    raw = {pair: compare(segments[pair[0]][pair[1]], segments[pair[0]][control], binary).p_value for pair in pairs}
    adjusted = dict(zip(pairs, holm([raw[p] for p in pairs]), strict=True))
    table: list[list[SegmentArm]] = []
    for s, arms in enumerate(segments):
        row = []
        for a, sample in enumerate(arms):
            low, high = mean_interval(sample, binary, alpha)
            versus = None
            if (s, a) in raw:
                base = arms[control]
                adj_low, adj_high = difference_interval(sample, base, binary, alpha / m)
                versus = SegmentVersus(sample.mean - base.mean, adj_low, adj_high, raw[(s, a)], adjusted[(s, a)])
            row.append(SegmentArm(a, int(exposures[s][a]), sample, low, high, versus))
        table.append(row)
    return table, len(pairs)
