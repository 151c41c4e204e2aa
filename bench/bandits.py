"""speed of every bandit policy: ``uv run python bench/bandits.py [--arms 10 --dim 32]``.

per policy: µs per single ``select`` (steady state: thompson propensities cached), µs
per decision of one ``select_many`` of 1,000, and events/s of one ``update`` of 10,000
events. each figure is the best of a few repeats. targets: beta_ts bulk <= 1 µs per
decision and update >= 1,000,000 events/s; lin_ucb single select (k=10, d=32) <= 60 µs.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

# one process per core is how levers runs; openblas threads on a small shared box only
# contend (a 10,000-event lin_ucb update goes from ~3 ms to 100+ ms)
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np

from app.bandits import POLICIES, Policy
from app.bandits.state import BanditState

BULK = 1_000
EVENTS = 10_000


def best_time(fn: Callable[[], Any], number: int, repeat: int) -> float:
    """best mean seconds per call over ``repeat`` rounds of ``number`` calls."""
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        for _ in range(number):
            fn()
        best = min(best, (time.perf_counter() - started) / number)
    return best


def warm_state(policy: Policy, arms: int, dim: int, rng: np.random.Generator) -> BanditState:
    """a state that has seen 2,000 events, so indexes and posteriors are not trivial."""
    state = policy.init_state(arms, dim=dim if policy.contextual else None)
    x = rng.standard_normal((2_000, dim)) / np.sqrt(dim) if policy.contextual else None
    picked, props = policy.select_many_with_propensities(state, rng, 2_000, x)
    rewards = (rng.random(2_000) < 0.1 + 0.05 * picked / arms).astype(np.float64)
    return policy.update(state, picked, rewards, contexts=x, propensities=props)


def bench(policy: Policy, arms: int, dim: int, repeat: int) -> tuple[float, float, float]:
    rng = np.random.default_rng(7)
    state = warm_state(policy, arms, dim, rng)
    context = rng.standard_normal(dim) / np.sqrt(dim) if policy.contextual else None
    contexts = rng.standard_normal((BULK, dim)) / np.sqrt(dim) if policy.contextual else None
    policy.select(state, rng, context)
    single = best_time(lambda: policy.select(state, rng, context), 2_000, repeat)
    bulk = best_time(lambda: policy.select_many(state, rng, BULK, contexts), 20, repeat) / BULK
    batch_x = rng.standard_normal((EVENTS, dim)) / np.sqrt(dim) if policy.contextual else None
    picked = rng.integers(arms, size=EVENTS)
    rewards = (rng.random(EVENTS) < 0.1).astype(np.float64)
    props = np.full(EVENTS, 1.0 / arms)
    update = best_time(lambda: policy.update(state, picked, rewards, contexts=batch_x, propensities=props), 5, repeat)
    return single * 1e6, bulk * 1e6, EVENTS / update


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arms", type=int, default=10)
    parser.add_argument("--dim", type=int, default=32, help="context length for contextual policies")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    threads = os.environ["OPENBLAS_NUM_THREADS"]
    print(f"k={args.arms} arms, d={args.dim} for contextual policies, numpy {np.__version__}, blas threads {threads}")
    print(f"{'policy':16s} {'select µs':>10s} {'bulk µs/dec':>12s} {'update ev/s':>14s}")
    for name, policy in POLICIES.items():
        single, bulk, rate = bench(policy, args.arms, args.dim, args.repeat)
        print(f"{name:16s} {single:10.1f} {bulk:12.3f} {rate:14,.0f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
