"""one question, "what would this policy have earned on this log?", answered by every weighting estimator at once:
what ``levers replay`` prints and the dashboard's "what if" shows. pure numpy, no i/o."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from app.bandits import PolicyError
from app.offline.estimators import Estimate, effective_sample_size, evaluate, importance_weights, logged_value
from app.offline.events import LogError, LoggedEvents
from app.offline.policies import target_probabilities

# below this effective sample size the weighted estimates rest on too few events to trust
SMALL_ESS = 100.0


@dataclass(frozen=True)
class Evaluation:
    events: int  # in the log
    scored: int  # the later part the weighting estimators score (the earlier part trains the target policy)
    logged: Estimate  # what the logging policy earned per event on the scored part
    ess: float
    estimates: dict[str, Estimate]  # ips, snips, dr

    @property
    def trustworthy(self) -> bool:
        return self.ess >= SMALL_ESS


def evaluate_policy(
    events: LoggedEvents, name: str, params: Mapping[str, Any], n_arms: int, train_fraction: float = 0.5
) -> Evaluation:
    """the target policy trained on the first ``train_fraction`` of the log (time order), scored on the rest."""
    if events.size == 0:
        raise LogError(1, "ts", "the log holds no events")
    if n_arms <= int(events.arms.max()):
        raise LogError(1, "arm_index", f"arm {int(events.arms.max())} logged but the experiment has {n_arms} arms")
    if not 0 <= train_fraction < 1:
        raise PolicyError("train_fraction", "the training share must lie in [0, 1)")
    split = int(events.size * train_fraction)
    scored = events.tail_from(split)
    target = target_probabilities(name, params, n_arms, events.head(split), scored)
    weights = importance_weights(scored.arms, scored.propensities, target)
    return Evaluation(
        events=events.size,
        scored=scored.size,
        logged=logged_value(scored.rewards),
        ess=effective_sample_size(weights),
        estimates=evaluate(scored.arms, scored.propensities, scored.rewards, target, scored.contexts),
    )
