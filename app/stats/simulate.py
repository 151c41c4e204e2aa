"""seeded, vectorised simulations of the verdict: what a marketer who looks every day would be told.

an experiment gets ``per_day`` visitors a day in hourly batches for ``days`` days; each hour the
allocation is fixed (an even split, a scripted one, or thompson sampling on the pooled counts so
far, like ``beta_ts`` trained hourly, optionally with the exploration floor of ``app.bandits.floor``),
visitors convert at ``rates[hour, arm]``, and at the end of
every day the rule of ``app.stats.decision`` runs on the hourly counters (periods = hours). arrays
have shape (runs, hours, arms), so a thousand runs of four weeks take seconds.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from app.stats.batch import NO_DIFFERENCE, SHIP, verdicts
from app.stats.models import DecisionThresholds
from app.stats.strata import PeriodSums, period_sums

HOURS_PER_DAY = 24
Allocation = Callable[[np.ndarray, np.ndarray, int, np.random.Generator], np.ndarray]


@dataclass(frozen=True, slots=True)
class Scenario:
    """true rates (hours, k) and how traffic is split each hour."""

    name: str
    rates: np.ndarray
    allocation: str  # "even", "thompson", or "scripted"
    shares: np.ndarray | None = None  # (hours, k) for "scripted"


@dataclass(frozen=True, slots=True)
class Outcome:
    """per run and day: verdict codes and leaders (runs, days); the hourly counters (runs, hours, k)."""

    codes: np.ndarray
    leaders: np.ndarray
    trials: np.ndarray
    successes: np.ndarray
    shares: np.ndarray

    def first_ship(self) -> tuple[np.ndarray, np.ndarray]:
        """(shipped by the end, arm shipped first) per run; the arm is -1 when nothing was shipped."""
        ship = self.codes == SHIP
        shipped = ship.any(axis=1)
        day = ship.argmax(axis=1)
        arm = np.where(shipped, self.leaders[np.arange(len(day)), day], -1)
        return shipped, arm

    def share_shipping(self, arm: int | None = None) -> float:
        shipped, which = self.first_ship()
        return float(shipped.mean() if arm is None else (which == arm).mean())

    def share_no_difference(self) -> float:
        return float((self.codes == NO_DIFFERENCE).any(axis=1).mean())


def stationary(name: str, rates: list[float], days: int, allocation: str = "even") -> Scenario:
    hours = days * HOURS_PER_DAY
    return Scenario(name, np.broadcast_to(np.asarray(rates, float), (hours, len(rates))).copy(), allocation)


def weekday_weekend(
    name: str, lift: float, days: int, weekday: float = 0.05, weekend: float = 0.01, allocation: str = "scripted"
) -> Scenario:
    """base rate 5% on weekdays and 1% at weekends; arm 1 converts ``lift`` better in every hour.

    the scripted allocation gives arm 1 80% of weekend traffic and 20% on weekdays: the pattern a
    bandit learning from pooled counts can fall into, and the worst case for pooled totals.
    """
    hours = days * HOURS_PER_DAY
    day = np.arange(hours) // HOURS_PER_DAY
    is_weekend = (day % 7) >= 5
    base = np.where(is_weekend, weekend, weekday)
    rates = np.stack([base, base * (1.0 + lift)], axis=1)
    b_share = np.where(is_weekend, 0.8, 0.2)
    shares = np.stack([1.0 - b_share, b_share], axis=1)
    return Scenario(name, rates, allocation, shares)


def _thompson_counts(
    a: np.ndarray, b: np.ndarray, visitors: int, rng: np.random.Generator, floor: float = 0.0
) -> np.ndarray:
    """each visitor gets the arm with the highest posterior draw, or with probability ``floor`` a
    uniformly random arm (``app.bandits.floor.explore``): counts (runs, k)."""
    runs, k = a.shape
    draws = rng.beta(a[:, None, :], b[:, None, :], size=(runs, visitors, k))
    chosen = draws.argmax(axis=-1)
    if floor > 0.0:
        explored = rng.random((runs, visitors)) < floor
        chosen = np.where(explored, rng.integers(k, size=(runs, visitors)), chosen)
    counts: np.ndarray = (chosen[..., None] == np.arange(k)).sum(axis=1).astype(float)
    return counts


def run(
    scenario: Scenario,
    runs: int,
    per_day: int = 1_000,
    seed: int = 0,
    thresholds: DecisionThresholds | None = None,
    floor: float = 0.0,
) -> Outcome:
    """``floor``: the thompson allocation's exploration floor (the product's default is
    ``app.bandits.floor.DEFAULT_FLOOR``; 0 is plain thompson sampling)."""
    rng = np.random.default_rng(seed)
    hours, k = scenario.rates.shape
    per_hour = per_day // HOURS_PER_DAY
    trials = np.zeros((runs, hours, k))
    successes = np.zeros((runs, hours, k))
    shares = np.zeros((runs, hours, k))
    a = np.ones((runs, k))
    b = np.ones((runs, k))
    for h in range(hours):
        if scenario.allocation == "thompson":
            n = _thompson_counts(a, b, per_hour, rng, floor)
        else:
            p = np.full(k, 1.0 / k) if scenario.shares is None else scenario.shares[h]
            n = rng.multinomial(per_hour, p, size=runs).astype(float)
        s = rng.binomial(n.astype(np.int64), scenario.rates[h]).astype(float)
        trials[:, h], successes[:, h] = n, s
        shares[:, h] = n / per_hour
        a += s
        b += n - s
    sums = period_sums(trials, successes, successes, cumulative=True)
    ends = np.arange(HOURS_PER_DAY - 1, hours, HOURS_PER_DAY)
    daily = PeriodSums(*(getattr(sums, f)[:, ends] for f in PeriodSums.__slots__))
    codes, leaders = verdicts(daily, "binary", thresholds=thresholds)
    return Outcome(codes, leaders, trials, successes, shares)


def pooled_outcome(outcome: Outcome, thresholds: DecisionThresholds | None = None) -> tuple[np.ndarray, np.ndarray]:
    """the same rule on pooled totals (one period), for comparison: what ignoring drift would say."""
    hours = outcome.trials.shape[1]
    ends = np.arange(HOURS_PER_DAY - 1, hours, HOURS_PER_DAY)
    n = outcome.trials.cumsum(axis=1)[:, ends][:, :, None, :]
    s = outcome.successes.cumsum(axis=1)[:, ends][:, :, None, :]
    sums = period_sums(n, s, s)
    return verdicts(sums, "binary", thresholds=thresholds)
