"""`levers replay EVENTS.(csv|jsonl) --policy NAME`: what a policy would have earned on logged traffic."""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Any

import numpy as np

from app.bandits import POLICIES, PolicyError
from app.offline.estimators import ESTIMATORS, Estimate
from app.offline.evaluation import SMALL_ESS, evaluate_policy
from app.offline.events import LogError, LoggedEvents, parse_csv, parse_jsonl
from app.offline.policies import UNIFORM, replay

ALL_ESTIMATORS = (*ESTIMATORS, "replay")


def _param(text: str) -> tuple[str, Any]:
    name, sep, raw = text.partition("=")
    if not sep or not name:
        raise argparse.ArgumentTypeError(f"--param wants name=value, got {text!r}")
    try:
        return name, json.loads(raw)
    except json.JSONDecodeError:
        return name, raw


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="levers replay", description=__doc__.splitlines()[0].split(": ", 1)[1])
    p.add_argument("events", type=Path, help="the experiment's event log export, .csv or .jsonl")
    p.add_argument("--policy", required=True, choices=[UNIFORM, *POLICIES], help="the target policy")
    p.add_argument("--param", action="append", type=_param, default=[], help="a policy parameter, name=value")
    p.add_argument("--estimator", action="append", choices=ALL_ESTIMATORS, help="default: all of them")
    p.add_argument(
        "--train-fraction",
        type=float,
        default=0.5,
        help="share of the log (earliest first) the target policy learns from before the weighting estimators "
        "score it on the rest (default 0.5; 0 scores its prior on the whole log)",
    )
    p.add_argument("--arms", type=int, help="number of arms (default: the largest logged arm index + 1)")
    p.add_argument("--seed", type=int, default=0, help="seed of the replay's random draws")
    p.add_argument("--json", action="store_true", help="print one json object")
    return p


def load(path: Path) -> LoggedEvents:
    with path.open(encoding="utf-8", newline="") as handle:
        return parse_jsonl(handle) if path.suffix.lower() in (".jsonl", ".ndjson") else parse_csv(handle)


def run(args: argparse.Namespace) -> dict[str, Any]:
    events = load(args.events)
    n_arms = args.arms or events.n_arms
    if not 0 <= args.train_fraction < 1:
        raise PolicyError("train_fraction", "--train-fraction must lie in [0, 1)")
    params = dict(args.param)
    chosen = args.estimator or list(ALL_ESTIMATORS)
    evaluation = evaluate_policy(events, args.policy, params, n_arms, args.train_fraction)
    estimates: dict[str, Estimate] = {name: value for name, value in evaluation.estimates.items() if name in chosen}
    kept = None
    if "replay" in chosen:
        estimates["replay"], kept = replay(args.policy, params, n_arms, events, np.random.default_rng(args.seed))
    return {
        "policy": args.policy,
        "events": events.size,
        "scored_events": evaluation.scored,
        "logged_value": evaluation.logged.value,
        "ess": evaluation.ess,
        "replay_kept": kept,
        "estimates": {name: estimates[name].as_dict() for name in chosen},
    }


def _text(result: dict[str, Any]) -> str:
    lines = [
        f"policy {result['policy']} on {result['events']} logged events "
        f"(weighting estimators score the last {result['scored_events']})",
        f"logged policy earned      {result['logged_value']:.5f} per event",
    ]
    for name, estimate in result["estimates"].items():
        lines.append(
            f"{name:<6} estimate          {estimate['value']:.5f}   "
            f"95% interval {estimate['ci_low']:.5f} .. {estimate['ci_high']:.5f}"
        )
    ess = result["ess"]
    lines.append(f"effective sample size     {ess:.0f} of {result['scored_events']}")
    if result["replay_kept"] is not None:
        lines.append(f"replay kept               {result['replay_kept']} events")
    if ess < SMALL_ESS:
        lines.append("warning: the effective sample size is small; these estimates are not to be trusted")
    return "\n".join(lines)


def _finite(value: Any) -> Any:
    # json has no infinity or nan: an interval that can't be computed is null
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    return value


def cli(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        result = run(args)
    except OSError as exc:
        print(f"levers replay: {exc}", file=sys.stderr)
        return 2
    except (LogError, PolicyError) as exc:
        print(f"levers replay: {args.events}: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(_finite(result)) if args.json else _text(result))
    return 0
