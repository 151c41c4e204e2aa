"""offline regret simulations of the bandit policies: pure compute, plus a small cli.

scenarios (all bernoulli rewards, so every policy can run on every scenario):

- ``web``: 5 arms converting at 3%, 3.5%, 4%, 5% and 6%.
- ``easy``: 5 arms at 0.1, 0.2, 0.3, 0.4 and 0.5.
- ``linear``: 5 arms, context x = (1, u) with u uniform in [-1, 1]^4; arm k converts with
  probability 0.5 + c_k + u·w_k (fixed c_k, w_k), so the best arm depends on the visitor.
- ``switch``: ``easy`` for the first half, then the arm order reversed (best becomes worst).
- ``drift``: 2 arms over four weeks starting on a saturday (horizon / 28 visitors a day), base rate
  5% on weekdays and 1% at weekends; arm 1 converts 10% better (relative) than arm 0 in every period. pooled counts
  are fooled here when the bandit moves traffic while the base rate swings.

contextual policies see a constant context (1.0,) on the non-contextual scenarios, and
the other policies ignore the context on ``linear``. regret is pseudo-regret: the best
arm's expected reward minus the chosen arm's, for the context of the moment. uniform
random's expected regret on the same draws is reported alongside.

feedback is batched: the policy picks ``batch`` decisions from one state (with
``select_many``), then gets all their rewards in one ``update``; batch=1 is sequential.
``floor`` is the experiment's exploration floor (``app.bandits.floor``). besides regret, each run
reports how the last quarter of traffic was spread: the share the best arm got, the smallest
share any arm got (is every arm still measured?), and how many seeds gave the best arm under half.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from app.bandits import POLICIES, PolicyError, get_policy
from app.bandits.floor import check_floor

CHECKPOINTS = 10


@dataclass(frozen=True, slots=True)
class Environment:
    means: np.ndarray  # (horizon, k) expected reward of each arm at each step
    contexts: np.ndarray | None  # (horizon, dim) or None


def _stationary(rates: list[float], horizon: int) -> Environment:
    return Environment(np.broadcast_to(np.asarray(rates), (horizon, len(rates))), None)


def _switch(horizon: int) -> Environment:
    rates = np.array([0.1, 0.2, 0.3, 0.4, 0.5])
    means = np.empty((horizon, rates.size))
    means[: horizon // 2] = rates
    means[horizon // 2 :] = rates[::-1]
    return Environment(means, None)


WEEKS = 4


def _drift(horizon: int) -> Environment:
    # the horizon spans four weeks whatever its length, so it sets the daily traffic
    # and it starts on a saturday: launched into a weekend, pooled counts are fooled most often
    day = np.arange(horizon) * (7 * WEEKS) // max(horizon, 1) + 5
    base = np.where(day % 7 < 5, 0.05, 0.01)
    return Environment(base[:, None] * np.array([1.0, 1.1]), None)


def _linear(horizon: int, rng: np.random.Generator) -> Environment:
    fixed = np.random.default_rng(20240601)
    weights = fixed.uniform(-1.0, 1.0, size=(5, 4))
    # |u·w| <= 0.45 and |offset| <= 0.03 keep every rate in [0.02, 0.98]
    weights *= 0.45 / np.abs(weights).sum(axis=1, keepdims=True)
    offsets = fixed.uniform(-0.03, 0.03, size=5)
    u = rng.uniform(-1.0, 1.0, size=(horizon, 4))
    contexts = np.hstack([np.ones((horizon, 1)), u])
    return Environment(0.5 + offsets + u @ weights.T, contexts)


SCENARIOS: dict[str, str] = {
    "web": "5 arms converting at 3-6%",
    "easy": "5 arms at 0.1 ... 0.5",
    "linear": "5 arms whose rate depends linearly on a 5-d context",
    "switch": "easy, then reversed half-way",
    "drift": "2 arms, weekday 5% / weekend 1%, arm 1 +10% in every period",
}


def make_environment(scenario: str, horizon: int, rng: np.random.Generator) -> Environment:
    if scenario == "web":
        return _stationary([0.03, 0.035, 0.04, 0.05, 0.06], horizon)
    if scenario == "easy":
        return _stationary([0.1, 0.2, 0.3, 0.4, 0.5], horizon)
    if scenario == "linear":
        return _linear(horizon, rng)
    if scenario == "switch":
        return _switch(horizon)
    if scenario == "drift":
        return _drift(horizon)
    raise PolicyError("scenario", f"unknown scenario {scenario!r} (choose one of: {', '.join(SCENARIOS)})")


def _run_one(
    policy_name: str, scenario: str, horizon: int, batch: int, params: dict[str, Any], seed: int, floor: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """per-step regret of the policy and of uniform random for one seed, and the last quarter's arm shares."""
    policy = get_policy(policy_name)
    env_seq, policy_seq = np.random.SeedSequence(seed).spawn(2)
    env_rng, rng = np.random.default_rng(env_seq), np.random.default_rng(policy_seq)
    env = make_environment(scenario, horizon, env_rng)
    coins = env_rng.random(horizon)
    k = env.means.shape[1]
    contexts = None
    if policy.contextual:
        contexts = env.contexts if env.contexts is not None else np.ones((horizon, 1))
    state = policy.init_state(k, params, dim=None if contexts is None else contexts.shape[1])
    best = env.means.max(axis=1)
    regret = np.empty(horizon)
    chosen = np.empty(horizon, dtype=np.int64)
    for lo in range(0, horizon, batch):
        hi = min(lo + batch, horizon)
        x = None if contexts is None else contexts[lo:hi]
        props = None
        if policy.needs_propensities:
            arms, props = policy.select_many_with_propensities(state, rng, hi - lo, x, floor=floor)
        else:
            arms = policy.select_many(state, rng, hi - lo, x, floor=floor)
        p = env.means[np.arange(lo, hi), arms]
        rewards = (coins[lo:hi] < p).astype(np.float64)
        state = policy.update(state, arms, rewards, contexts=x, propensities=props)
        regret[lo:hi] = best[lo:hi] - p
        chosen[lo:hi] = arms
    tail = slice(horizon - max(1, horizon // 4), horizon)
    shares = np.bincount(chosen[tail], minlength=k) / chosen[tail].size
    best_share = float(np.mean(regret[tail] == 0.0))
    return regret, best - env.means.mean(axis=1), np.r_[best_share, shares.min()]


def run_simulation(
    policy: str,
    scenario: str,
    horizon: int,
    seeds: int,
    batch: int = 1,
    params: dict[str, Any] | None = None,
    floor: float = 0.0,
) -> dict[str, Any]:
    """cumulative pseudo-regret of ``policy`` on ``scenario`` over seeds 0 .. seeds-1.

    returns mean and sd (over seeds) of the final cumulative regret, the same for uniform
    random, the mean/sd regret curve at ``CHECKPOINTS`` evenly spaced steps, and how the last
    quarter of traffic was spread (``best_share``, ``min_share``, ``best_under_half``).
    """
    normalised = get_policy(policy).validate_params(params)
    f = check_floor(floor)
    if scenario not in SCENARIOS:
        make_environment(scenario, 1, np.random.default_rng(0))
    for field, value in (("horizon", horizon), ("seeds", seeds), ("batch", batch)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise PolicyError(field, f"{field} must be a positive integer")
    runs = [_run_one(policy, scenario, horizon, batch, normalised, seed, f) for seed in range(seeds)]
    curves = np.cumsum([r for r, _, _ in runs], axis=1)
    uniform = np.cumsum([u for _, u, _ in runs], axis=1)
    spread = np.array([t for _, _, t in runs])
    steps = np.unique(np.linspace(horizon / CHECKPOINTS, horizon, CHECKPOINTS).round().astype(int))
    ddof = 1 if seeds > 1 else 0
    return {
        "policy": policy,
        "scenario": scenario,
        "horizon": horizon,
        "seeds": seeds,
        "batch": batch,
        "floor": f,
        "params": normalised,
        "regret_mean": float(curves[:, -1].mean()),
        "regret_sd": float(curves[:, -1].std(ddof=ddof)),
        "uniform_regret_mean": float(uniform[:, -1].mean()),
        "uniform_regret_sd": float(uniform[:, -1].std(ddof=ddof)),
        "best_share": float(spread[:, 0].mean()),
        "min_share": float(spread[:, 1].mean()),
        "best_under_half": float((spread[:, 0] < 0.5).mean()),
        "checkpoints": steps.tolist(),
        "curve_mean": curves[:, steps - 1].mean(axis=0).tolist(),
        "curve_sd": curves[:, steps - 1].std(axis=0, ddof=ddof).tolist(),
        "uniform_curve_mean": uniform[:, steps - 1].mean(axis=0).tolist(),
        "final_regrets": curves[:, -1].tolist(),
    }


def _names(text: str, allowed: dict[str, Any] | Any, what: str) -> list[str]:
    names = [n.strip() for n in text.split(",") if n.strip()]
    for name in names:
        if name not in allowed:
            raise PolicyError(what, f"unknown {what} {name!r} (choose from: {', '.join(allowed)})")
    return names


def print_table(results: list[dict[str, Any]]) -> None:
    """one row per run; ``vs first`` compares regret with the first policy on the same scenario and floor."""
    print(
        f"{'policy':<16} {'scenario':<8} {'floor':>5} {'regret':>16} {'vs first':>8} {'uniform':>9} "
        f"{'best share':>10} {'min share':>9} {'best<1/2':>8}"
    )
    first: dict[tuple[str, float], float] = {}
    for r in results:
        ref = first.setdefault((r["scenario"], r["floor"]), r["regret_mean"])
        ratio = r["regret_mean"] / ref if ref > 0 else float("nan")
        print(
            f"{r['policy']:<16} {r['scenario']:<8} {r['floor']:>5.2f} "
            f"{r['regret_mean']:>9.1f} ± {r['regret_sd']:<5.1f} {ratio:>8.2f} {r['uniform_regret_mean']:>9.1f} "
            f"{r['best_share']:>10.1%} {r['min_share']:>9.1%} {r['best_under_half']:>8.0%}"
        )


def cli(argv: list[str] | None = None) -> int:
    """``levers simulate --policy beta_ts,stratified_ts --scenario web,drift --floor 0,0.05 --batch 42``."""
    parser = argparse.ArgumentParser(prog="levers simulate", description="Simulate bandit policies' regret.")
    parser.add_argument("--policy", required=True, help=f"one or more, comma-separated: {', '.join(POLICIES)}")
    parser.add_argument("--scenario", default="web", help=f"one or more, comma-separated: {', '.join(SCENARIOS)}")
    parser.add_argument("--horizon", type=int, default=20_000)
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--batch", type=int, default=1, help="decisions per update (1 = sequential)")
    parser.add_argument("--floor", default="0", help="exploration floor(s), comma-separated, each in [0, 1)")
    parser.add_argument("--params", default=None, help="policy params as json, e.g. '{\"prior_alpha\": 2}'")
    parser.add_argument("--out", default=None, help="write the full results as json to this file")
    args = parser.parse_args(argv)
    try:
        policies = _names(args.policy, POLICIES, "protocol")
        scenarios = _names(args.scenario, SCENARIOS, "scenario")
        floors = [check_floor(float(f)) for f in args.floor.split(",")]
        params = json.loads(args.params) if args.params else None
        started = time.perf_counter()
        results = [
            run_simulation(policy, scenario, args.horizon, args.seeds, args.batch, params, floor)
            for scenario in scenarios
            for floor in floors
            for policy in policies
        ]
        elapsed = time.perf_counter() - started
    except json.JSONDecodeError as exc:
        print(f"error: --params is not valid json: {exc}", file=sys.stderr)
        return 2
    except ValueError as exc:
        field = exc.field if isinstance(exc, PolicyError) else "floor"
        print(f"error: {field}: {exc}", file=sys.stderr)
        return 2
    print(f"horizon {args.horizon}, {args.seeds} seeds, batch {args.batch} ({elapsed:.1f} s)")
    print_table(results)
    if args.out:
        with open(args.out, "w", encoding="utf-8") as fh:
            json.dump(results if len(results) > 1 else results[0], fh, indent=2)
        print(f"  written to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(cli())
