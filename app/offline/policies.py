"""target policies for offline evaluation: any of the bandit engine's policies, or the uniform-random one.

two ways to ask "what would policy X have earned":
- ``target_probabilities``: X trained on one part of the log (its first events, in time order) and frozen, then
  its arm probabilities at each event of the rest, for the weighting estimators. training and evaluating on
  disjoint events keeps the estimate honest: a policy fitted to the very events it is scored on looks better
  than it is.
- ``replay``: X simulated step by step over the whole log from its prior (li et al. 2011): at each event X picks
  an arm; when it is the logged one the event is kept, X sees its reward and learns. with a non-uniform logging
  policy an event is kept with probability p_min / p (rejection sampling), so the kept stream is what X itself
  would have been served, whatever the logging policy did.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from app.bandits import BanditState, Policy, PolicyError, get_policy
from app.offline.estimators import Estimate, logged_value
from app.offline.events import LoggedEvents

UNIFORM = "uniform"


def _trained(policy: Policy, params: Mapping[str, Any], n_arms: int, train: LoggedEvents) -> BanditState:
    dim = None if train.contexts is None else int(train.contexts.shape[1])
    if policy.contextual and dim is None:
        raise PolicyError("policy", f"{policy.name} is contextual but the log has no contexts")
    state = policy.init_state(n_arms, params, dim)
    if train.size == 0:
        return state
    contexts = train.contexts if policy.contextual else None
    return policy.update(state, train.arms, train.rewards, contexts=contexts, propensities=train.propensities)


def target_probabilities(
    name: str, params: Mapping[str, Any], n_arms: int, train: LoggedEvents, events: LoggedEvents
) -> np.ndarray:
    """(events.size, n_arms): the probability the target policy, trained on ``train``, gives each arm."""
    if name == UNIFORM:
        return np.full((events.size, n_arms), 1.0 / n_arms)
    policy = get_policy(name)
    state = _trained(policy, params, n_arms, train)
    if not policy.contextual or events.contexts is None:
        return np.broadcast_to(policy.arm_probabilities(state), (events.size, n_arms)).copy()
    return np.array([policy.arm_probabilities(state, context=x) for x in events.contexts])


def replay(
    name: str,
    params: Mapping[str, Any],
    n_arms: int,
    events: LoggedEvents,
    rng: np.random.Generator,
    batch: int = 10,
) -> tuple[Estimate, int]:
    """the replay estimate of the target policy's value per event, and how many logged events it kept."""
    keep_probability = events.propensities.min() / events.propensities
    draws = rng.random(events.size)
    if name == UNIFORM:
        choices = rng.integers(n_arms, size=events.size)
        kept = (choices == events.arms) & (draws < keep_probability)
        rewards = events.rewards[kept]
        return (logged_value(rewards) if rewards.size else _nothing()), int(kept.sum())
    policy = get_policy(name)
    state = _trained(policy, params, n_arms, events.head(0))
    contexts = events.contexts if policy.contextual else None
    kept_rewards: list[float] = []
    pending: list[tuple[int, float, float, int]] = []
    for index in range(events.size):
        context = None if contexts is None else contexts[index]
        selection = policy.select(state, rng, context)
        if selection.arm != events.arms[index] or draws[index] >= keep_probability[index]:
            continue
        kept_rewards.append(float(events.rewards[index]))
        pending.append((selection.arm, float(events.rewards[index]), selection.propensity, index))
        if len(pending) >= batch:
            state = _learn(policy, state, pending, contexts)
            pending = []
    rewards = np.asarray(kept_rewards)
    return (logged_value(rewards) if rewards.size else _nothing()), int(rewards.size)


def _learn(
    policy: Policy, state: BanditState, pending: list[tuple[int, float, float, int]], contexts: np.ndarray | None
) -> BanditState:
    arms, rewards, propensities, rows = (np.asarray(column) for column in zip(*pending, strict=True))
    return policy.update(
        state,
        arms.astype(np.int64),
        rewards,
        contexts=None if contexts is None else contexts[rows.astype(np.int64)],
        propensities=propensities,
    )


def _nothing() -> Estimate:
    return Estimate(float("nan"), float("-inf"), float("inf"))
