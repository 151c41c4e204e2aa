"""guardrail harm probability: exact on beta posteriors, rare false alarms on equal arms, and it finds real harm."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import integrate, stats

from app.stats.guardrail import MIN_VISITORS, GoalTotals, harmed, prob_worse


def exact_prob_worse(control: tuple[int, int], arm: tuple[int, int], better: str, tolerance: float) -> float:
    (nc, sc), (na, sa) = control, arm
    c, a = stats.beta(1 + sc, 1 + nc - sc), stats.beta(1 + sa, 1 + na - sa)
    if better == "lower":  # P(A > C (1 + t))
        f = lambda x: c.pdf(x) * a.sf(min(1.0, x * (1 + tolerance)))  # noqa: E731
    else:  # P(A < C (1 - t))
        f = lambda x: c.pdf(x) * a.cdf(x * (1 - tolerance))  # noqa: E731
    return float(integrate.quad(f, 0, 1, limit=200, points=[sc / nc])[0])


@pytest.mark.parametrize(
    ("control", "arm", "better", "tolerance"),
    [
        ((1000, 300), (1000, 340), "lower", 0.0),
        ((1000, 300), (1000, 360), "lower", 0.05),
        ((800, 60), (900, 50), "higher", 0.1),
    ],
)
def test_matches_exact_integration(
    control: tuple[int, int], arm: tuple[int, int], better: str, tolerance: float
) -> None:
    found = prob_worse(
        GoalTotals(control[0], control[1], control[1]), GoalTotals(arm[0], arm[1], arm[1]), better, tolerance
    )  # type: ignore[arg-type]
    assert abs(found - exact_prob_worse(control, arm, better, tolerance)) < 0.006


def simulate(rate_control: float, rate_arm: float, visitors: int, reps: int, tolerance: float, seed: int) -> float:
    """the share of repetitions whose guardrail (bounce rate, lower is better) pauses the arm at one look."""
    rng = np.random.default_rng(seed)
    bounces = rng.binomial(visitors, [rate_control, rate_arm], size=(reps, 2))
    stops = [
        harmed(GoalTotals(visitors, float(c), float(c)), GoalTotals(visitors, float(a), float(a)), "lower", tolerance)[
            0
        ]
        for c, a in bounces
    ]
    return float(np.mean(stops))


def test_equal_arms_rarely_trip_the_guardrail() -> None:
    # a one-sided 95% rule: about 5% false alarms at one look with no tolerance, far fewer with one
    assert simulate(0.30, 0.30, 2000, 400, 0.0, seed=11) <= 0.08
    assert simulate(0.30, 0.30, 2000, 400, 0.05, seed=12) <= 0.01


def test_real_harm_is_found() -> None:
    assert simulate(0.30, 0.36, 2000, 200, 0.0, seed=13) >= 0.9  # bounce +20%
    assert simulate(0.30, 0.36, 2000, 200, 0.05, seed=14) >= 0.6


def test_revenue_per_visitor_uses_its_spread() -> None:
    rng = np.random.default_rng(5)

    def totals(mean_order: float) -> GoalTotals:
        buys = rng.random(3000) < 0.05
        values = np.where(buys, rng.lognormal(np.log(mean_order), 0.6, 3000), 0.0)
        return GoalTotals(3000, float(values.sum()), float((values**2).sum()))

    control, same, lower = totals(60.0), totals(60.0), totals(25.0)
    assert not control.binary
    assert harmed(control, lower, "higher", 0.0)[0]
    assert not harmed(control, same, "higher", 0.1)[0]


def test_no_decision_before_enough_visitors() -> None:
    few = GoalTotals(MIN_VISITORS - 1, 0.0, 0.0)
    assert harmed(few, GoalTotals(MIN_VISITORS - 1, MIN_VISITORS - 1.0, MIN_VISITORS - 1.0), "lower", 0.0) == (
        False,
        0.0,
    )
