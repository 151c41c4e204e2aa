"""training that no single event can stop: what a policy can't take is set aside, the rest is learnt."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from app.runtime.records import Event


@dataclass(frozen=True)
class Update:
    state: Any
    learnt: int
    set_aside: list[int]  # positions (in the events given) the policy could not take


def finite(state: Any) -> bool:
    for name in state.array_names():
        array = getattr(state, name)
        if array.dtype.kind == "f" and not np.isfinite(array).all():
            return False
    return True


def _apply(policy: Any, state: Any, events: list[Event], contexts: np.ndarray | None) -> Any:
    new = policy.update(
        state,
        np.array([e.arm for e in events], dtype=np.int64),
        np.array([e.reward for e in events], dtype=np.float64),
        contexts=contexts,
        propensities=np.array([e.propensity for e in events], dtype=np.float64),
        trials=np.array([e.trials for e in events], dtype=np.int64),
    )
    if not finite(new):
        raise ArithmeticError("the update left the policy's state non-finite")
    return new


def robust_update(policy: Any, state: Any, events: list[Event], contexts: np.ndarray | None) -> Update:
    """one vectorised update; if the policy refuses the batch (or its state would stop being finite), the
    batch is split in halves until the events at fault are found: they are set aside, the others learnt."""
    if not events:
        return Update(state, 0, [])
    try:
        return Update(_apply(policy, state, events, contexts), len(events), [])
    except Exception:
        if len(events) == 1:
            return Update(state, 0, [0])
    half = len(events) // 2
    # order matters (an exposure before its conversion), so the halves are applied one after the other
    first = robust_update(policy, state, events[:half], None if contexts is None else contexts[:half])
    second = robust_update(policy, first.state, events[half:], None if contexts is None else contexts[half:])
    return Update(second.state, first.learnt + second.learnt, first.set_aside + [half + i for i in second.set_aside])
