"""the exploration floor: a share of traffic spread evenly over the arms, whatever the policy says.

with floor f and k arms, a decision follows the policy with probability 1 - f and picks an arm
uniformly at random otherwise, so every arm keeps at least f / k of the traffic and keeps being
measured (a policy fooled by drift can then still see the arm it starved recover). the
probability of the arm served is the mixture (1 - f)·p + f / k: that, not the policy's own p,
goes into the selection token, so inverse-propensity estimates stay unbiased.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from app.bandits.errors import PolicyError

DEFAULT_FLOOR = 0.05


def check_floor(floor: Any) -> float:
    """a float in [0, 1); anything else raises ``PolicyError(field="exploration_floor")``."""
    if type(floor) is float and 0.0 <= floor < 1.0:  # every select passes one: no union isinstance for it
        return floor
    if isinstance(floor, bool) or not isinstance(floor, int | float | np.floating | np.integer):
        raise PolicyError("exploration_floor", "exploration_floor must be a number")
    value = float(floor)
    if not math.isfinite(value) or not 0.0 <= value < 1.0:
        raise PolicyError("exploration_floor", "exploration_floor must be at least 0 and below 1")
    return value


def mix(probs: np.ndarray, floor: float) -> np.ndarray:
    """probabilities (last axis = arms) after mixing in ``floor`` of uniform traffic."""
    if floor == 0.0:
        return probs
    mixed: np.ndarray = (1.0 - floor) * probs + floor / probs.shape[-1]
    return mixed


def explore(arms: np.ndarray, rng: np.random.Generator, floor: float, n_arms: int) -> np.ndarray:
    """``arms`` with each decision replaced, with probability ``floor``, by a uniformly random arm.

    draws nothing from ``rng`` when ``floor`` is 0, so a floor of 0 gives the policy's own decisions.
    """
    if floor == 0.0 or arms.size == 0:
        return arms
    out = arms.copy()
    hit = rng.random(arms.size) < floor
    out[hit] = rng.integers(n_arms, size=int(hit.sum()))
    return out
