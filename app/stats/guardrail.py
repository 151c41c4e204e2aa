"""guardrails: how likely an arm made a goal that must not get worse worse than the control did (pure numpy).

the metric is per visitor: conversions (0/1) get Beta(1 + s, 1 + n - s) posteriors, other values (revenue)
a normal posterior of the mean from the sum and the sum of squares. "worse by more than the tolerance" is
relative to the control: θ_arm < θ_control · (1 - tolerance) when higher is better, θ_arm > θ_control ·
(1 + tolerance) when lower is better (a bounce rate). the probability is a monte-carlo integral with a fixed
seed, so the same counters always give the same answer.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np

Better = Literal["higher", "lower"]

HARM_PROBABILITY = 0.95
# a guardrail waits for this many visitors on both arms: a handful of early bounces must not pause an arm
MIN_VISITORS = 100
DRAWS = 40_000
_SEED = 0x6A12D


@dataclass(frozen=True)
class GoalTotals:
    visitors: int
    total: float  # conversions, or the summed value
    total_sq: float

    @property
    def binary(self) -> bool:
        return math.isclose(self.total, self.total_sq, rel_tol=1e-9, abs_tol=1e-9) and self.total <= self.visitors


def _draws(totals: GoalTotals, binary: bool, rng: np.random.Generator, n: int) -> np.ndarray:
    if binary:
        successes = min(max(totals.total, 0.0), float(totals.visitors))
        return rng.beta(1.0 + successes, 1.0 + totals.visitors - successes, size=n)
    visitors = max(totals.visitors, 2)
    mean = totals.total / visitors
    variance = max(totals.total_sq / visitors - mean * mean, 1e-12) * visitors / (visitors - 1)
    return rng.normal(mean, math.sqrt(variance / visitors), size=n)


def prob_worse(control: GoalTotals, arm: GoalTotals, better: Better, tolerance: float, draws: int = DRAWS) -> float:
    """P(the arm's metric is worse than the control's by more than ``tolerance``, relative) given the data."""
    rng = np.random.default_rng(_SEED)
    binary = control.binary and arm.binary
    c = _draws(control, binary, rng, draws)
    a = _draws(arm, binary, rng, draws)
    worse = a < c * (1.0 - tolerance) if better == "higher" else a > c * (1.0 + tolerance)
    return float(np.mean(worse))


def harmed(
    control: GoalTotals, arm: GoalTotals, better: Better, tolerance: float, threshold: float = HARM_PROBABILITY
) -> tuple[bool, float]:
    """whether the guardrail stops the arm, and the probability behind it (0 before both have MIN_VISITORS)."""
    if min(control.visitors, arm.visitors) < MIN_VISITORS:
        return False, 0.0
    p = prob_worse(control, arm, better, tolerance)
    return p >= threshold, p
