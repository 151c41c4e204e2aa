"""offline regret simulations of the bandit policies: pure compute, plus a small cli.

scenarios (all bernoulli rewards, so every policy can run on every scenario):

- ``web``: 5 arms converting at 3%, 3.5%, 4%, 5% and 6%.
- ``easy``: 5 arms at 0.1, 0.2, 0.3, 0.4 and 0.5.
- ``linear``: 5 arms, context x = (1, u) with u uniform in [-1, 1]^4; arm k converts with
  probability 0.5 + c_k + u·w_k (fixed c_k, w_k), so the best arm depends on the visitor.
- ``switch``: ``easy`` for the first half, then the arm order reversed (best becomes worst).

contextual policies see a constant context (1.0,) on the non-contextual scenarios, and
the other policies ignore the context on ``linear``. regret is pseudo-regret: the best
arm's expected reward minus the chosen arm's, for the context of the moment. uniform
random's expected regret on the same draws is reported alongside.

feedback is batched: the policy picks ``batch`` decisions from one state (with
``select_many``), then gets all their rewards in one ``update``; batch=1 is sequential.
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
    raise PolicyError("scenario", f"unknown scenario {scenario!r} (choose one of: {', '.join(SCENARIOS)})")


def _run_one(
    policy_name: str, scenario: str, horizon: int, batch: int, params: dict[str, Any], seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """per-step regret of the policy and of uniform random for one seed."""
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
    for lo in range(0, horizon, batch):
        hi = min(lo + batch, horizon)
        x = None if contexts is None else contexts[lo:hi]
        props = None
        if policy.needs_propensities:
            arms, props = policy.select_many_with_propensities(state, rng, hi - lo, x)
        else:
            arms = policy.select_many(state, rng, hi - lo, x)
        p = env.means[np.arange(lo, hi), arms]
        rewards = (coins[lo:hi] < p).astype(np.float64)
        state = policy.update(state, arms, rewards, contexts=x, propensities=props)
        regret[lo:hi] = best[lo:hi] - p
    return regret, best - env.means.mean(axis=1)


def run_simulation(
    policy: str, scenario: str, horizon: int, seeds: int, batch: int = 1, params: dict[str, Any] | None = None
) -> dict[str, Any]:
    """cumulative pseudo-regret of ``policy`` on ``scenario`` over seeds 0 .. seeds-1.

    returns mean and sd (over seeds) of the final cumulative regret, the same for uniform
    random, and the mean/sd regret curve at ``CHECKPOINTS`` evenly spaced steps.
    """
    normalised = get_policy(policy).validate_params(params)
    if scenario not in SCENARIOS:
        make_environment(scenario, 1, np.random.default_rng(0))
    for field, value in (("horizon", horizon), ("seeds", seeds), ("batch", batch)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise PolicyError(field, f"{field} must be a positive integer")
    runs = [_run_one(policy, scenario, horizon, batch, normalised, seed) for seed in range(seeds)]
    curves = np.cumsum([r for r, _ in runs], axis=1)
    uniform = np.cumsum([u for _, u in runs], axis=1)
    steps = np.unique(np.linspace(horizon / CHECKPOINTS, horizon, CHECKPOINTS).round().astype(int))
    ddof = 1 if seeds > 1 else 0
    return {
        "policy": policy,
        "scenario": scenario,
        "horizon": horizon,
        "seeds": seeds,
        "batch": batch,
        "params": normalised,
        "regret_mean": float(curves[:, -1].mean()),
        "regret_sd": float(curves[:, -1].std(ddof=ddof)),
        "uniform_regret_mean": float(uniform[:, -1].mean()),
        "uniform_regret_sd": float(uniform[:, -1].std(ddof=ddof)),
        "checkpoints": steps.tolist(),
        "curve_mean": curves[:, steps - 1].mean(axis=0).tolist(),
        "curve_sd": curves[:, steps - 1].std(axis=0, ddof=ddof).tolist(),
        "uniform_curve_mean": uniform[:, steps - 1].mean(axis=0).tolist(),
        "final_regrets": curves[:, -1].tolist(),
    }


def cli(argv: list[str] | None = None) -> int:
    """``levers simulate --policy beta_ts --scenario web --horizon 20000 --seeds 20 --batch 200``."""
    parser = argparse.ArgumentParser(prog="levers simulate", description="Simulate a bandit policy's regret.")
    parser.add_argument("--policy", required=True, choices=list(POLICIES))
    parser.add_argument("--scenario", default="web", choices=list(SCENARIOS))
    parser.add_argument("--horizon", type=int, default=20_000)
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--batch", type=int, default=1, help="decisions per update (1 = sequential)")
    parser.add_argument("--params", default=None, help="policy params as json, e.g. '{\"prior_alpha\": 2}'")
    parser.add_argument("--out", default=None, help="write the full result as json to this file")
    args = parser.parse_args(argv)
    try:
        params = json.loads(args.params) if args.params else None
        started = time.perf_counter()
        result = run_simulation(args.policy, args.scenario, args.horizon, args.seeds, args.batch, params)
        elapsed = time.perf_counter() - started
    except json.JSONDecodeError as exc:
        print(f"error: --params is not valid json: {exc}", file=sys.stderr)
        return 2
    except PolicyError as exc:
        print(f"error: {exc.field}: {exc}", file=sys.stderr)
        return 2
    print(
        f"{args.policy} on {args.scenario}: horizon {args.horizon}, {args.seeds} seeds, batch {args.batch} "
        f"({elapsed:.1f} s)"
    )
    print(f"  cumulative regret  {result['regret_mean']:10.1f} ± {result['regret_sd']:.1f}")
    print(f"  uniform random     {result['uniform_regret_mean']:10.1f} ± {result['uniform_regret_sd']:.1f}")
    if args.out:
        with open(args.out, "w", encoding="utf-8") as fh:
            json.dump(result, fh, indent=2)
        print(f"  written to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(cli())
