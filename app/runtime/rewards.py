"""which rewards an experiment takes: the web refuses the others, the worker sets aside any that got past it."""

from __future__ import annotations

import math
from typing import Any

from app.lib.errors import InvalidInputError
from app.runtime.hotcache import ExperimentRuntime
from app.runtime.records import Event, ExperimentConfig


def check_reward(runtime: ExperimentRuntime, reward: float, field: str) -> None:
    """refuses a reward the policy can't take or beyond the experiment's reward_max: one feedback must never
    be able to dominate an experiment (or overflow its statistics)."""
    config = runtime.config
    if not math.isfinite(reward):
        raise InvalidInputError("the reward must be a finite number", field=field)
    if abs(reward) > config.reward_max:
        raise InvalidInputError(
            f"the reward {reward:g} is beyond this experiment's reward_max ({config.reward_max:g})", field=field
        )
    bounds = reward_bounds(runtime.policy)
    if bounds is not None and not bounds[0] <= reward <= bounds[1]:
        raise InvalidInputError(f"{config.protocol} takes rewards between {bounds[0]:g} and {bounds[1]:g}", field=field)


def reward_bounds(policy: Any) -> tuple[float, float] | None:
    bounds = getattr(policy, "reward_bounds", None)
    if bounds is None:
        return None
    low, high = bounds
    if not (math.isfinite(low) and math.isfinite(high)):
        return None
    return float(low), float(high)


def acceptable(config: ExperimentConfig, event: Event) -> bool:
    """what the web refuses never trains nor counts, even if it reached a stream (an older web, a bug)."""
    if not 0 <= event.arm < len(config.arms):
        return False
    if event.kind in ("x", "hx"):
        return True
    return math.isfinite(event.reward) and abs(event.reward) <= config.reward_max
