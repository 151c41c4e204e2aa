"""name -> policy lookup; names are the api's ``protocol`` values."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from app.bandits.base import Policy
from app.bandits.beta_ts import BetaTS
from app.bandits.epsilon_greedy import EpsilonGreedy
from app.bandits.errors import PolicyError
from app.bandits.exp3 import Exp3
from app.bandits.fpl import FPL
from app.bandits.gaussian_ts import GaussianTS
from app.bandits.kl_ucb import KLUCB, KLUCBPlus
from app.bandits.lin_ts import LinTS
from app.bandits.lin_ucb import LinUCB
from app.bandits.moss import MOSS, MOSSAnytime
from app.bandits.stratified_ts import StratifiedTS
from app.bandits.ucb1_tuned import UCB1Tuned

_CLASSES: tuple[type[Policy], ...] = (
    BetaTS,
    StratifiedTS,
    GaussianTS,
    UCB1Tuned,
    KLUCB,
    KLUCBPlus,
    EpsilonGreedy,
    MOSS,
    MOSSAnytime,
    LinUCB,
    LinTS,
    Exp3,
    FPL,
)

# policies hold no state, so one shared instance each is enough
POLICIES: Mapping[str, Policy] = MappingProxyType({cls.name: cls() for cls in _CLASSES})


def get_policy(name: str) -> Policy:
    """the policy called ``name``; unknown names raise ``PolicyError(field="protocol")``."""
    try:
        return POLICIES[name]
    except (KeyError, TypeError):
        allowed = ", ".join(POLICIES)
        raise PolicyError("protocol", f"unknown policy {name!r} (choose one of: {allowed})") from None


def describe_policies() -> list[dict[str, object]]:
    """name, kind, summary and param schema of every policy, for the dashboard's form."""
    return [policy.describe() for policy in POLICIES.values()]
