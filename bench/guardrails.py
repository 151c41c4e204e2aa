"""how often guardrails pause an arm: ``uv run python bench/guardrails.py [--reps 1000]``.

a bounce rate (lower is better) of 30% on the control; equal arms (false pauses) and an arm that bounces 20%
more (real harm), looked at once at 2,000 visitors per arm and daily for 28 days at 200 visitors per arm a day,
with no tolerance and with the default 5%. seeded: a row can be replayed.
"""

from __future__ import annotations

import argparse

import numpy as np

from app.stats.guardrail import GoalTotals, harmed


def paused(control: int, arm: int, visitors: int, tolerance: float) -> bool:
    return harmed(GoalTotals(visitors, control, control), GoalTotals(visitors, arm, arm), "lower", tolerance)[0]


def one_look(rate: float, reps: int, tolerance: float, seed: int) -> float:
    bounces = np.random.default_rng(seed).binomial(2000, [0.30, rate], size=(reps, 2))
    return float(np.mean([paused(int(c), int(a), 2000, tolerance) for c, a in bounces]))


def daily(rate: float, reps: int, tolerance: float, seed: int, per_day: int = 200, days: int = 28) -> float:
    bounces = np.random.default_rng(seed).binomial(per_day, [0.30, rate], size=(reps, days, 2)).cumsum(axis=1)
    ever = 0
    for run in bounces:
        ever += any(paused(int(c), int(a), per_day * (d + 1), tolerance) for d, (c, a) in enumerate(run))
    return ever / reps


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reps", type=int, default=400)
    reps = parser.parse_args().reps
    print(f"{'tolerance':>9} {'arm bounce':>10} {'one look':>9} {'daily 28 d':>11}   ({reps} runs each)")
    for tolerance in (0.0, 0.05):
        for rate in (0.30, 0.36):
            print(
                f"{tolerance:>9.0%} {rate:>10.0%} {one_look(rate, reps, tolerance, 1):>9.1%}"
                f" {daily(rate, reps // 2, tolerance, 2):>11.1%}"
            )


if __name__ == "__main__":
    main()
