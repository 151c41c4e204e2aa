"""the drift-robust bandit, the exploration floor and lin_ts's exploration, measured with the simulator.

prints three tables (the same ones `levers simulate` prints; `vs first` is regret over beta_ts's
with the same floor):

1. ``drift``: 2 arms, weekday 5% / weekend 1%, arm 1 +10% in every period, launched on a saturday,
   four weeks at 1k, 3k and 10k visitors a day, hourly updates. ``best<1/2`` is the share of runs
   where the truly better arm got under half of the last week's traffic (the bandit locked onto the
   worse arm); ``min share`` shows whether every arm is still measured.
2. stationary traffic (``web``: 5 arms at 3-6%; ``easy``: 0.1 ... 0.5): what the drift-robust
   policy costs when nothing drifts. the acceptance rule for making it the default of conversion
   experiments is <= 10% extra regret at the default floor.
3. ``lin_ts``'s exploration ``v`` on the ``linear`` contextual scenario against mabwiser's LinTS
   with its defaults (alpha=1, l2_lambda=1), run through mabwiser itself when it is installed (a
   dev-only dependency) and otherwise through its written rule (ridge per arm, coefficients drawn
   from N(A^-1 b, alpha^2 A^-1): lin_ts with v=alpha). the two differ: mabwiser deep-copies each
   arm's model, random generator included, when it fits, so after a fit every arm draws the same
   normals and the arms' samples move together. that correlated noise explores less than the rule
   says: mabwiser at alpha=1 scores about like independent draws at v=0.4-0.5, not v=1. beside
   it, ``easy`` with a constant context: ``stuck`` counts runs left with over a quarter of uniform's
   regret (locked onto a wrong arm), the cost of exploring too little.

usage: ``uv run python bench/drift.py [--seeds 30] [--quick]``
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import numpy as np

from app.simulation import make_environment, print_table, run_simulation

WEEK_HOURS = 7 * 24


def drift_table(seeds: int, per_day: list[int]) -> None:
    print("\n## drift: weekday 5% / weekend 1%, arm 1 +10% in every period, launched on a saturday")
    for visitors in per_day:
        horizon = 28 * visitors
        batch = max(1, horizon // (4 * WEEK_HOURS))
        print(f"\n{visitors:,} visitors a day: horizon {horizon:,}, hourly batches of {batch}, {seeds} seeds")
        print_table(
            [
                run_simulation(policy, "drift", horizon, seeds, batch, None, floor)
                for floor in (0.0, 0.05)
                for policy in ("beta_ts", "stratified_ts")
            ]
        )


def stationary_table(seeds: int, horizon: int) -> None:
    batch = max(1, horizon // (4 * WEEK_HOURS))
    print(f"\n## stationary traffic: horizon {horizon:,}, batches of {batch}, {seeds} seeds")
    print_table(
        [
            run_simulation(policy, scenario, horizon, seeds, batch, None, floor)
            for scenario in ("web", "easy")
            for floor in (0.0, 0.05)
            for policy in ("beta_ts", "stratified_ts")
        ]
    )


def mabwiser_lints(horizon: int, seeds: int, batch: int, alpha: float = 1.0) -> dict[str, Any] | None:
    """mabwiser's LinTS (defaults) on the ``linear`` scenario, the same draws as ``run_simulation``."""
    try:
        from mabwiser.mab import MAB, LearningPolicy
    except ImportError:
        return None
    finals = []
    for seed in range(seeds):
        env_seq, policy_seq = np.random.SeedSequence(seed).spawn(2)
        env_rng = np.random.default_rng(env_seq)
        env = make_environment("linear", horizon, env_rng)
        coins = env_rng.random(horizon)
        assert env.contexts is not None
        k = env.means.shape[1]
        mab = MAB(list(range(k)), LearningPolicy.LinTS(alpha=alpha), seed=int(policy_seq.generate_state(1)[0]))
        regret = 0.0
        trained = False
        first = np.random.default_rng(policy_seq)
        for lo in range(0, horizon, batch):
            hi = min(lo + batch, horizon)
            x = env.contexts[lo:hi]
            # an untrained thompson sampler plays uniformly; mabwiser needs a fit before its first predict
            arms = np.asarray(mab.predict(x) if trained else first.integers(k, size=hi - lo)).reshape(-1)
            p = env.means[np.arange(lo, hi), arms]
            rewards = (coins[lo:hi] < p).astype(np.float64)
            (mab.partial_fit if trained else mab.fit)(arms.tolist(), rewards, x)
            trained = True
            regret += float((env.means[lo:hi].max(axis=1) - p).sum())
        finals.append(regret)
    return {"regret_mean": float(np.mean(finals)), "regret_sd": float(np.std(finals, ddof=1))}


def lin_ts_table(seeds: int, horizon: int, batch: int) -> None:
    print(f"\n## lin_ts exploration on `linear`: horizon {horizon:,}, batches of {batch}, {seeds} seeds")
    reference = mabwiser_lints(horizon, seeds, batch)
    label = "mabwiser LinTS (alpha=1)"
    if reference is None:
        label = "mabwiser's rule (lin_ts v=1)"
        reference = run_simulation("lin_ts", "linear", horizon, seeds, batch, {"v": 1.0})
    print(f"{'policy':<28} {'regret':>16} {'vs mabwiser':>11} {'easy: regret':>16} {'stuck':>6}")
    print(f"{label:<28} {reference['regret_mean']:>9.1f} ± {reference['regret_sd']:<5.1f} {1.0:>11.2f}")
    for v in (0.25, 0.3, 0.35, 0.4, 0.5, 0.75, 1.0):
        r = run_simulation("lin_ts", "linear", horizon, seeds, batch, {"v": v})
        ratio = r["regret_mean"] / reference["regret_mean"]
        # the other side of exploring less: on ``easy`` (constant context) a run can get stuck on a wrong arm
        easy = run_simulation("lin_ts", "easy", horizon, 3 * seeds, batch, {"v": v})
        stuck = sum(x > 0.25 * easy["uniform_regret_mean"] for x in easy["final_regrets"])
        print(
            f"{f'lin_ts v={v:g}':<28} {r['regret_mean']:>9.1f} ± {r['regret_sd']:<5.1f} {ratio:>11.2f} "
            f"{easy['regret_mean']:>9.1f} ± {easy['regret_sd']:<5.1f} {stuck:>3}/{3 * seeds}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=30)
    parser.add_argument("--quick", action="store_true", help="fewer seeds and traffic levels")
    args = parser.parse_args()
    seeds = 6 if args.quick else args.seeds
    started = time.perf_counter()
    drift_table(seeds, [3_000] if args.quick else [1_000, 3_000, 10_000])
    for horizon in (28_000, 84_000):
        stationary_table(seeds, horizon)
    lin_ts_table(max(4, seeds // 3), 10_000, 50)
    print(f"\n({time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
