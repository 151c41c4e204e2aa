"""what a chosen policy would have earned on an experiment's logged traffic (app.offline on the event log).

bounded: it reads the newest MAX_EVENTS exposures at most (MAX_CONTEXTUAL_EVENTS for a contextual target
policy, whose probabilities cost about half a millisecond per event), evaluates off the event loop, and gives up
after TIME_LIMIT_SECONDS.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

import anyio
import numpy as np
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.bandits import POLICIES, PolicyError, describe_policies, get_policy
from app.db.models import Experiment, RewardMode
from app.domain.experiments.events import CHUNK, EPOCH, EXPORT_QUERY
from app.lib.errors import InvalidInputError
from app.offline.estimators import Estimate
from app.offline.evaluation import SMALL_ESS, Evaluation, evaluate_policy
from app.offline.events import LogError, LoggedEvents
from app.offline.policies import UNIFORM

MAX_EVENTS = 200_000
MAX_CONTEXTUAL_EVENTS = 10_000
TIME_LIMIT_SECONDS = 20.0
MAX_PARAMS_LENGTH = 1000
ESTIMATOR_NAMES = {
    "snips": "Self-normalised IPS",
    "dr": "Doubly robust",
    "ips": "Inverse propensity (IPS)",
}

_CUTOFF = text(
    "select exposed_at from event_log where experiment_id = :experiment and kind = 'x'"
    " order by exposed_at desc offset :skip limit 1"
)


def choices(experiment: Experiment) -> list[dict[str, Any]]:
    """the policies one can ask about: uniform random and the engine's, contextual ones on contextual traffic."""
    uniform = {"name": UNIFORM, "summary": "Every arm equally often: the classic A/B split.", "params": {}}
    contextual = experiment.context_dim is not None
    return [uniform, *(p for p in describe_policies() if p["kind"] != "contextual" or contextual)]


def parse_params(raw: str) -> dict[str, Any]:
    """``name=value`` pairs separated by commas or new lines; a value is json when it parses, else text."""
    if len(raw) > MAX_PARAMS_LENGTH:
        raise InvalidInputError(f"keep the parameters under {MAX_PARAMS_LENGTH} characters", field="params")
    params: dict[str, Any] = {}
    for part in raw.replace("\n", ",").split(","):
        if not part.strip():
            continue
        name, sep, value = part.partition("=")
        if not sep or not name.strip():
            raise InvalidInputError(f"write each parameter as name=value, not {part.strip()!r}", field="params")
        try:
            params[name.strip()] = json.loads(value.strip())
        except json.JSONDecodeError:
            params[name.strip()] = value.strip()
    return params


def check_policy(experiment: Experiment, name: str, raw_params: str) -> dict[str, Any]:
    if name != UNIFORM and name not in POLICIES:
        raise InvalidInputError("choose a policy from the list", field="policy")
    params = parse_params(raw_params)
    if name == UNIFORM:
        if params:
            raise InvalidInputError("the uniform policy takes no parameters", field="params")
        return params
    policy = get_policy(name)
    if policy.contextual and experiment.context_dim is None:
        raise InvalidInputError(f"{name} needs visitor contexts, which this experiment does not log", field="policy")
    try:
        policy.validate_params(params)
    except PolicyError as exc:
        raise InvalidInputError(str(exc) if exc.field in str(exc) else f"{exc.field}: {exc}", field="params") from None
    return params


async def load_events(engine: AsyncEngine, experiment: Experiment, cap: int) -> tuple[LoggedEvents | None, bool]:
    """the newest ``cap`` logged exposures with their rewards, in time order; and whether the cap was reached."""
    async with engine.connect() as connection:
        cutoff = await connection.scalar(_CUTOFF, {"experiment": experiment.id, "skip": cap - 1})
        params = {
            "experiment": experiment.id,
            "since": cutoff or EPOCH,
            "window": float(experiment.attribution_window_seconds),
        }
        columns: list[list[Any]] = [[], [], [], [], []]
        result = await connection.stream(EXPORT_QUERY.execution_options(yield_per=CHUNK), params)
        async for rows in result.partitions(CHUNK):
            for row in rows:
                for column, value in zip(columns, row, strict=True):
                    column.append(value)
                if len(columns[0]) >= cap:
                    break
            if len(columns[0]) >= cap:
                break
    at, arms, propensities, rewards, contexts = columns
    if not arms:
        return None, False
    dim = experiment.context_dim
    events = LoggedEvents(
        np.array([t.timestamp() for t in at]),
        np.asarray(arms, dtype=np.int64),
        np.asarray(propensities, dtype=np.float64),
        np.asarray(rewards, dtype=np.float64),
        np.asarray([c or [0.0] * dim for c in contexts], dtype=np.float64) if dim else None,
    )
    return events, cutoff is not None


@dataclass(frozen=True)
class Line:
    label: str
    key: str
    value: str
    low: str
    high: str


@dataclass(frozen=True)
class WhatIf:
    policy: str
    params: dict[str, Any]
    evaluation: Evaluation | None  # None: nothing logged yet
    capped: bool
    conversion: bool
    lines: list[Line]

    @property
    def small_ess(self) -> bool:
        return self.evaluation is not None and self.evaluation.ess < SMALL_ESS


def _number(value: float, conversion: bool) -> str:
    if not math.isfinite(value):
        return "—"
    return f"{value * 100:.2f}%" if conversion else f"{value:.4g}"


def _line(label: str, key: str, estimate: Estimate, conversion: bool) -> Line:
    return Line(
        label,
        key,
        _number(estimate.value, conversion),
        _number(estimate.ci_low, conversion),
        _number(estimate.ci_high, conversion),
    )


async def what_if(engine: AsyncEngine, experiment: Experiment, policy: str, raw_params: str) -> WhatIf:
    params = check_policy(experiment, policy, raw_params)
    contextual = policy != UNIFORM and get_policy(policy).contextual
    events, capped = await load_events(engine, experiment, MAX_CONTEXTUAL_EVENTS if contextual else MAX_EVENTS)
    conversion = experiment.reward_mode == RewardMode.CONVERSION
    if events is None:
        return WhatIf(policy, params, None, False, conversion, [])
    n_arms = len(experiment.pool.arms)
    try:
        with anyio.fail_after(TIME_LIMIT_SECONDS):
            evaluation = await anyio.to_thread.run_sync(
                lambda: evaluate_policy(events, policy, params, n_arms), abandon_on_cancel=True
            )
    except TimeoutError:
        raise InvalidInputError(
            "this evaluation took too long; try a non-contextual policy or a simpler one", field="policy"
        ) from None
    except (LogError, PolicyError) as exc:
        raise InvalidInputError(str(exc), field="params") from None
    lines = [_line("What the experiment earned", "logged", evaluation.logged, conversion)]
    lines += [_line(label, key, evaluation.estimates[key], conversion) for key, label in ESTIMATOR_NAMES.items()]
    return WhatIf(policy, params, evaluation, capped, conversion, lines)
