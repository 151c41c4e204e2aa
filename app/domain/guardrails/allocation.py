"""serving around paused arms (pure): the policy's own allocation with the paused arms taken out."""

from __future__ import annotations

from typing import Any

import numpy as np

from app.bandits import Policy
from app.bandits.state import BanditState


def open_arm(
    policy: Policy,
    state: BanditState,
    rng: np.random.Generator,
    paused: list[int],
    context: Any = None,
    floor: float = 0.0,
) -> tuple[int, float]:
    """an arm drawn from the policy's allocation restricted to the arms not paused, and its propensity.

    that is exactly what re-drawing the policy until it picks an open arm would serve, in one draw; when the
    policy gives every open arm zero share (a deterministic policy set on a paused arm) the open arms share
    equally. the exploration floor is mixed in before the paused arms are taken out, so the open arms keep
    their minimum share.
    """
    probs = np.asarray(policy.arm_probabilities(state, context=context, floor=floor), dtype=np.float64).copy()
    probs[[i for i in paused if 0 <= i < probs.size]] = 0.0
    total = probs.sum()
    if not np.isfinite(total) or total <= 0.0:
        probs = np.ones_like(probs)
        probs[[i for i in paused if 0 <= i < probs.size]] = 0.0
        total = probs.sum()
    probs /= total
    arm = int(rng.choice(probs.size, p=probs))
    return arm, float(probs[arm])
