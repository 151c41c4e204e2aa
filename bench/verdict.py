"""the verdict on simulated traffic, full tables: ``uv run python bench/verdict.py [--runs 1000]``.

2 arms (or 3), 5% base rate, 1,000 visitors a day in hourly batches, a look at the end of every day
for 28 days; the rule of ``app.stats.decision`` on the hourly counters (``app.stats.simulate``).
"thompson" is the default allocation (thompson sampling with the 5% exploration floor), "plain
thompson" the same without a floor.
prints, per scenario, the share of runs that shipped each arm by day 7, 14 and 28, the share that
said "no difference", the mean visitors per arm, and for the drift scenarios what the same rule
on pooled totals would have shipped. then the coverage of the revenue interval.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.bandits.floor import DEFAULT_FLOOR
from app.stats import ArmTotals, analyze
from app.stats.batch import SHIP
from app.stats.simulate import Outcome, pooled_outcome, run, stationary, weekday_weekend

DAYS = 28


def shipped_by(outcome: Outcome, day: int) -> np.ndarray:
    """per arm, the share of runs that had shipped it by the end of ``day``."""
    codes = outcome.codes[:, :day]
    ship = codes == SHIP
    any_ship = ship.any(axis=1)
    first = ship.argmax(axis=1)
    arm = np.where(any_ship, outcome.leaders[np.arange(len(first)), first], -1)
    k = outcome.trials.shape[2]
    return np.array([(arm == i).mean() for i in range(k)])


def table(runs: int, seed: int) -> None:
    # "thompson": the product's default allocation, thompson sampling with the 5% exploration floor;
    # "plain thompson": no floor (exploration_floor 0), the losers starved harder
    floor = DEFAULT_FLOOR
    scenarios = [
        (stationary("a/a, even split", [0.05, 0.05], DAYS), 0.0),
        (stationary("a/a, thompson", [0.05, 0.05], DAYS, "thompson"), floor),
        (stationary("a/a, plain thompson", [0.05, 0.05], DAYS, "thompson"), 0.0),
        (stationary("+20%, even split", [0.05, 0.06], DAYS), 0.0),
        (stationary("+20%, thompson", [0.05, 0.06], DAYS, "thompson"), floor),
        (stationary("+20%, plain thompson", [0.05, 0.06], DAYS, "thompson"), 0.0),
        (stationary("starved 3/3.5/6%, thompson", [0.03, 0.035, 0.06], DAYS, "thompson"), floor),
        (stationary("starved, plain thompson", [0.03, 0.035, 0.06], DAYS, "thompson"), 0.0),
        (weekday_weekend("drift +10%, split against b", 0.1, DAYS), 0.0),
        (weekday_weekend("drift +10%, thompson", 0.1, DAYS, allocation="thompson"), floor),
        (weekday_weekend("drift +10%, plain thompson", 0.1, DAYS, allocation="thompson"), 0.0),
        (weekday_weekend("drift +20%, thompson", 0.2, DAYS, allocation="thompson"), floor),
    ]
    print(f"{'scenario':32} {'day':>4} {'shipped per arm':>24} {'no diff':>8} {'visitors per arm':>24}")
    for scenario, scenario_floor in scenarios:
        started = time.perf_counter()
        outcome = run(scenario, runs, seed=seed, floor=scenario_floor)
        visitors = outcome.trials.sum(axis=1).mean(axis=0)
        for day in (7, 14, 28):
            shares = " ".join(f"{v:6.1%}" for v in shipped_by(outcome, day))
            no_diff = (outcome.codes[:, :day] == 2).any(axis=1).mean()
            label = scenario.name if day == 7 else ""
            extra = " ".join(f"{v:7,.0f}" for v in visitors) if day == 28 else ""
            print(f"{label:32} {day:>4} {shares:>24} {no_diff:>8.1%} {extra:>24}")
        if scenario.name.startswith("drift"):
            codes, leaders = pooled_outcome(outcome)
            ship = codes == SHIP
            first = ship.argmax(axis=1)
            arm = np.where(ship.any(axis=1), leaders[np.arange(runs), first], -1)
            pooled = " ".join(f"{(arm == i).mean():6.1%}" for i in range(2))
            print(f"{'  pooled totals instead':32} {28:>4} {pooled:>24}")
        print(f"{'':32} ({time.perf_counter() - started:.1f} s)")


def coverage(runs: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    print("\nrevenue: 3% buy, log-normal(3.5, sigma) order values; coverage of the 95% interval of an arm's mean")
    print(f"{'sigma':>6} {'visitors':>9} {'levers':>8} {'plain t':>8}")
    for sigma in (0.5, 1.0, 1.5):
        for n in (500, 2_000):
            truth = 0.03 * np.exp(3.5 + sigma**2 / 2)
            hits = plain = 0
            for _ in range(runs):
                bought = rng.random((2, n)) < 0.03
                y = np.where(bought, rng.lognormal(3.5, sigma, (2, n)), 0.0)
                arms = [
                    ArmTotals(str(i), n, float(y[i].sum()), float((y[i] ** 2).sum()), nonzero=int(bought[i].sum()))
                    for i in range(2)
                ]
                arm = analyze(arms, "continuous").arms[0]
                hits += arm.ci_low <= truth <= arm.ci_high
                half = 1.96 * y[0].std(ddof=1) / np.sqrt(n)
                plain += abs(y[0].mean() - truth) <= half
            print(f"{sigma:>6} {n:>9,} {hits / runs:>8.1%} {plain / runs:>8.1%}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--coverage-runs", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=20261130)
    args = parser.parse_args()
    table(args.runs, args.seed)
    coverage(args.coverage_runs, args.seed)


if __name__ == "__main__":
    main()
