"""the bandit engine of levers: pure numpy/scipy, no i/o.

usage::

    from app.bandits import get_policy
    policy = get_policy("beta_ts")                      # PolicyError(field="protocol") if unknown
    params = policy.validate_params({"prior_alpha": 2})  # normalised, defaults filled in
    state = policy.init_state(n_arms=5, params=params, dim=None)  # dim: contextual only
    sel = policy.select(state, rng, context=None)        # Selection(arm, propensity)
    sel = policy.select(state, rng, floor=0.05)          # with the experiment's exploration floor
    arms = policy.select_many(state, rng, 1000)          # n independent decisions, same state
    arms, props = policy.select_many_with_propensities(state, rng, 1000)
    shares = policy.arm_probabilities(state, rng)        # traffic share per arm (dashboard)
    state = policy.update(state, arms, rewards, contexts=None, propensities=None, trials=None)
    text = policy.state_to_json(state); policy.state_from_json(text) == state

metadata for forms: ``policy.kind``, ``policy.summary``, ``policy.param_schema()``,
``policy.describe()`` and ``describe_policies()``. bad input raises ``PolicyError`` (a
``ValueError``) whose ``field`` names the culprit: a param name, ``protocol``, ``arm``,
``reward``, ``context``, ``trials``, ``propensity``, ``state``...

states are immutable; ``rng`` is the experiment's ``numpy.random.Generator`` and the only
source of randomness, so the same seed and the same events give the same decisions.
ties between arms are always broken at random.

update: one call per batch of feedback events, all arrays of the same length n.

- ``arms``: int array of arm indices.
- ``rewards``: float array. beta_ts, stratified_ts, ucb1_tuned, kl_ucb, kl_ucb_plus, moss, moss_anytime,
  exp3 and fpl take [0, 1] (fractional allowed); gaussian_ts, epsilon_greedy, lin_ucb and
  lin_ts take any finite number. anything else raises PolicyError(field="reward").
- ``contexts``: (n, dim) float64 array, contextual policies only (ignored by the others).
- ``propensities``: the probability each event's arm had when it was served, taken from
  the selection token (``Selection.propensity``). required by exp3 and fpl, ignored by
  the rest; pass them always.
- ``trials``: int/bool array of 0/1, default all 1. trials=1 is a new trial carrying
  its reward: explicit feedback, or in ``conversion`` reward mode an exposure with
  reward 0. trials=0 adds its reward to a trial already counted: a conversion (reward
  1) arriving after its exposure, with the same arm and context. so in conversion mode
  exposures are the trials and conversions the successes, for every policy:
  sufficient-statistic policies do n += trials, s += r, ss += r² (exact for 0 -> 1);
  linear policies add x xᵀ to a for trials=1 rows only and r·x to b for all rows;
  exp3/fpl add r / propensity to the arm's gain (nothing for a zero-reward exposure).
  a trials=0 event for an arm with no trials, or more reward than trials on a [0, 1]
  policy, raises PolicyError(field="trials").

batching: an update with many events equals the same events applied one at a time
(bit for bit for the sufficient-statistic and gain policies; up to rounding for the
linear ones). decisions between updates come from the same state.

exploration floor: ``select``, ``select_many``, ``select_many_with_propensities`` and
``arm_probabilities`` take ``floor`` (0 <= f < 1, default 0): that share of decisions goes to a
uniformly random arm, so each arm keeps at least f/k, and the propensities returned are the
mixed probabilities (1 - f)·p + f/k (``app.bandits.floor``). a floor of 0 draws nothing extra
from ``rng``.

drift: ``stratified_ts`` compares arms within periods of ``period`` trials, so a base rate that
swings while the bandit moves traffic (weekday/weekend) does not fool it; pooled policies
(``beta_ts`` and the rest) can lock onto the worse arm then (``levers simulate --scenario drift``).

propensities: ``select`` returns the exact probability where closed-form (ucb-style
ties, epsilon_greedy, exp3, fpl) and a monte-carlo estimate for thompson sampling,
cached per posterior and computed with a fixed seed. ``arm_probabilities(state, rng,
context=None)`` gives every arm's current traffic share.
"""

from app.bandits.base import Kind, Policy, Selection
from app.bandits.errors import PolicyError
from app.bandits.params import ParamSpec
from app.bandits.registry import POLICIES, describe_policies, get_policy
from app.bandits.state import BanditState

__all__ = [
    "POLICIES",
    "BanditState",
    "Kind",
    "ParamSpec",
    "Policy",
    "PolicyError",
    "Selection",
    "describe_policies",
    "get_policy",
]
