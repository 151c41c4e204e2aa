"""the decision rule behind the plain-language recommendation.

with ``ref`` the control's mean (if it is not positive: the largest |mean| of any arm),
loss_limit = max_expected_loss * ref and equivalence_limit = practical_difference * ref (each plus
a numerical tolerance of 1e-9 * max(1, ref)), the verdict is the first that applies of:

1. not_enough_data: the experiment has fewer than ``min_trials_per_arm`` x arms visitors in all
   (an average per arm: a starved arm does not block the verdict; its evidence is weighed below).
2. no_difference: every arm's expected loss is at most equivalence_limit, i.e. even choosing the
   worst arm costs less than the practical difference in expectation. a single arm, once it
   has enough data, always lands here: there is nothing to compare it with.
3. ship: the arm most likely to be best has prob_best >= ``prob_best``, expected loss at most
   loss_limit, and is *separated* from every other arm by the sequential guard below (when that
   arm is the control the text says to keep it).
4. keep_running, with an estimate of the visitors still needed.

the sequential guard makes the verdict survive peeking. for each pair (leader i, other arm j), with
d the stratified difference of their means and V its variance (``app.stats.strata``), the mixture
likelihood ratio of "the means differ" against "they are equal" (Johari et al.'s mixture SPRT,
gaussian mixing of scale tau) is

    Lambda(tau) = sqrt(V / (V + tau^2)) exp(tau^2 d^2 / (2 V (V + tau^2)))

mixed over two scales, tau = 0.2 and 1.0 times the pair's mean level (weights 0.8 and 0.2: modest
lifts, and large ones that small samples can show). under equal means Lambda is a nonnegative
martingale whatever the allocation, so by Ville's inequality it ever exceeds 1/a with probability
at most a, however often it is looked at. the leader must reach (k - 1) / alpha against every
other arm, alpha = 1 - ``prob_best``: the chance that the rule ever ships an arm that is not the
best is then at most alpha (5% by default), up to the normal approximation of the estimates.

the estimate projects the posteriors forward at current rates: each arm keeps its posterior mean,
and m more visitors, split by the given traffic shares (else evenly), shrink its posterior
variance from c / n_eff to c / (n_eff + m share) (binary: c = mean (1 - mean), n_eff = a + b + 1;
continuous: c = beta / alpha, n_eff = kappa), and the guard's variances in the same proportion.
the projected posteriors are taken as normal and fed to the same quadrature; the estimate is the
smallest m (to ~7%, searched over a geometric grid up to max(100 x current visitors, 100,000)) at
which rule 2 or 3 would hold, rounded up to two significant figures. if none does, the horizon is
reported as a lower bound.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TypedDict

import numpy as np
from scipy import special

from app.stats.models import DecisionThresholds, Kind, Recommendation
from app.stats.posterior import NormalPosterior
from app.stats.quadrature import exact

TOLERANCE = 1e-9
HORIZON_FACTOR = 100.0
MIN_HORIZON = 100_000.0
COARSE_STEPS = 24
FINE_STEPS = 12
PROJECTION_ORDER = 4
# the guard's mixing scales, relative to the pair's mean level, and their weights
TAU_RATIOS = np.array([0.4])
TAU_WEIGHTS = np.array([1.0])


@dataclass(frozen=True, slots=True)
class Projection:
    """what the visitor estimate needs: posterior means, variance numerators, effective sizes, shares,
    and for the guard the stratified means, their pairwise variances and the arms' effective visitors."""

    means: np.ndarray
    numerators: np.ndarray
    effective: np.ndarray
    shares: np.ndarray
    centres: np.ndarray
    pair_var: np.ndarray
    counts: np.ndarray
    arm_var: np.ndarray


@dataclass(frozen=True, slots=True)
class Limits:
    prob_best: float
    loss: float
    equivalence: float
    alpha: float


class _Leader(TypedDict):
    """the fields every recommendation shares: the leading arm and the limits applied."""

    arm: int
    arm_name: str
    prob_best: float
    expected_loss: float
    loss_limit: float
    equivalence_limit: float


def reference_level(means: np.ndarray, control: int) -> float:
    """the level relative thresholds refer to: the control's mean, else the largest |mean|."""
    level = float(means[control])
    return level if level > 0 else float(np.abs(means).max())


def limits_for(thresholds: DecisionThresholds, reference: float) -> Limits:
    tolerance = TOLERANCE * max(1.0, reference)
    return Limits(
        thresholds.prob_best,
        thresholds.max_expected_loss * reference + tolerance,
        thresholds.practical_difference * reference + tolerance,
        1.0 - thresholds.prob_best,
    )


def log_mixture_ratio(diff: np.ndarray, var: np.ndarray, level: np.ndarray) -> np.ndarray:
    """log of the mixture likelihood ratio of the module docstring (0 where the variance is unknown)."""
    tau2 = (TAU_RATIOS * np.abs(level)[..., None]) ** 2
    v = np.asarray(var, dtype=float)[..., None]
    d2 = np.asarray(diff, dtype=float)[..., None] ** 2
    ok = np.isfinite(v) & (v > 0) & (tau2 > 0)
    v = np.where(ok, v, 1.0)
    t = np.where(ok, tau2, 0.0)
    # one-sided: half-normal mixing over positive differences, 2 Phi(m / s) times the two-sided ratio
    post_z = np.asarray(diff, dtype=float)[..., None] * np.sqrt(t / (v * (v + t)))
    logs = (
        0.5 * np.log(v / (v + t))
        + t * d2 / (2.0 * v * (v + t))
        + np.log(2.0)
        + special.log_ndtr(post_z)
        + np.log(TAU_WEIGHTS)
    )
    top = logs.max(axis=-1, keepdims=True)
    out = top[..., 0] + np.log(np.exp(logs - top).sum(axis=-1))
    return np.where(ok.all(axis=-1), out, 0.0)


def separated(centres: np.ndarray, pair_var: np.ndarray, arm: np.ndarray, alpha: float) -> np.ndarray:
    """whether ``arm`` (...,) is above every other arm with the guard's evidence, batched over (..., k)."""
    k = centres.shape[-1]
    if k < 2:
        return np.ones(centres.shape[:-1], dtype=bool)
    if alpha <= 0:
        return np.zeros(centres.shape[:-1], dtype=bool)
    idx = np.asarray(arm)[..., None]
    mine = np.take_along_axis(centres, idx, axis=-1)
    var = np.take_along_axis(pair_var, idx[..., None], axis=-2)[..., 0, :]
    diff = mine - centres
    level = (np.abs(mine) + np.abs(centres)) / 2.0
    evidence = log_mixture_ratio(diff, var, level)
    ok = (diff > 0) & (evidence >= np.log(k / alpha))
    others = np.arange(k) != idx
    holds: np.ndarray = np.asarray(np.where(others, ok, True).all(axis=-1))
    return holds


def verdict_holds(prob_best: np.ndarray, losses: np.ndarray, limits: Limits, guard: np.ndarray) -> np.ndarray:
    """rules 2 or 3 for each row of (B, k) arrays; ``guard`` (B, k): each arm separated from the rest."""
    leader = prob_best.argmax(axis=-1)[..., None]
    lead_prob = np.take_along_axis(prob_best, leader, axis=-1)[..., 0]
    lead_loss = np.take_along_axis(losses, leader, axis=-1)[..., 0]
    lead_guard = np.take_along_axis(guard, leader, axis=-1)[..., 0]
    ship = (lead_prob >= limits.prob_best) & (lead_loss <= limits.loss) & lead_guard
    decided: np.ndarray = ship | (losses.max(axis=-1) <= limits.equivalence)
    return decided


def _holds_after(extra: np.ndarray, projection: Projection, limits: Limits) -> np.ndarray:
    added = extra[:, None] * projection.shares[None, :]
    sd = np.sqrt(projection.numerators / (projection.effective + added))
    means = np.broadcast_to(projection.means, sd.shape)
    best = exact(NormalPosterior(np.ascontiguousarray(means), sd), order=PROJECTION_ORDER)
    losses = np.maximum(best.expected_max[:, None] - means, 0.0)
    counts = projection.counts
    with np.errstate(divide="ignore", invalid="ignore"):
        shrink = np.where(counts > 0, counts / (counts + added), 0.0)
    a = np.where(np.isfinite(projection.arm_var), projection.arm_var, 0.0)
    weighted = a * shrink
    denominator = a[:, None] + a[None, :]
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = np.where(
            denominator > 0,
            (weighted[:, :, None] + weighted[:, None, :]) / np.where(denominator > 0, denominator, 1.0),
            1.0,
        )
    pair_var = projection.pair_var[None] * scale
    centres = np.broadcast_to(projection.centres, sd.shape)
    k = centres.shape[-1]
    guard = np.stack([separated(centres, pair_var, np.full(len(extra), i), limits.alpha) for i in range(k)], axis=-1)
    return verdict_holds(best.prob_best, losses, limits, guard)


def visitors_needed(projection: Projection, limits: Limits, current: float) -> tuple[int, bool]:
    """(visitors, is_lower_bound): see the module docstring."""
    horizon = max(HORIZON_FACTOR * current, MIN_HORIZON)
    coarse = np.geomspace(1.0, horizon, COARSE_STEPS)
    holds = _holds_after(coarse, projection, limits)
    if not holds.any():
        return round_up(horizon), True
    first = int(holds.argmax())
    if first > 0:
        fine = np.geomspace(coarse[first - 1], coarse[first], FINE_STEPS)
        fine_holds = _holds_after(fine, projection, limits)
        needed = float(fine[int(fine_holds.argmax())]) if fine_holds.any() else float(coarse[first])
    else:
        needed = float(coarse[0])
    return round_up(needed), False


def round_up(value: float) -> int:
    """ceil to two significant figures: 12,345 -> 13,000."""
    value = max(1.0, math.ceil(value))
    unit = 10 ** max(0, math.floor(math.log10(value)) - 1)
    return int(math.ceil(value / unit) * unit)


def percent(p: float) -> str:
    """a probability in whole percent, rounded down so that a threshold is never shown as met."""
    if p > 0.99:
        return ">99%"
    if p < 0.01:
        return "<1%"
    return f"{math.floor(p * 100.0 + 1e-9)}%"


def significant(value: float) -> str:
    """two significant figures in plain decimals: 0.0213 -> '0.021', 2.13 -> '2.1', 213 -> '213'."""
    value = abs(value)
    if value == 0.0:
        return "0"
    if value < 1e-6:
        return "<0.000001"
    if value >= 100.0:
        return f"{value:,.0f}"
    decimals = min(8, max(0, 1 - math.floor(math.log10(value))))
    return f"{value:.{decimals}f}"


def describe_loss(loss: float, kind: Kind, reference: float) -> str:
    if kind == "binary":
        return f"{significant(loss * 100.0)} points of conversion rate"
    share = f" ({significant(loss / reference * 100.0)}% of the control's mean)" if reference > 0 else ""
    return f"{significant(loss)} per visitor{share}"


def decide(
    *,
    kind: Kind,
    names: list[str],
    trials: np.ndarray,
    prob_best: np.ndarray,
    losses: np.ndarray,
    control: int,
    thresholds: DecisionThresholds,
    projection: Projection,
) -> Recommendation:
    """apply the rule of the module docstring to one experiment's (k,) arrays."""
    reference = reference_level(projection.means, control)
    limits = limits_for(thresholds, reference)
    leader = int(prob_best.argmax())
    base: _Leader = {
        "arm": leader,
        "arm_name": names[leader],
        "prob_best": float(prob_best[leader]),
        "expected_loss": float(losses[leader]),
        "loss_limit": limits.loss,
        "equivalence_limit": limits.equivalence,
    }
    floor = thresholds.min_trials_per_arm * len(names)
    total = float(trials.sum())
    if total < floor:
        needed = round_up(floor - total)
        text = (
            f"Not enough data: no verdict before {floor:,} visitors in all ({int(total):,} so far); "
            f"about {needed:,} more visitors needed."
        )
        return Recommendation(kind="not_enough_data", text=text, visitors_needed=needed, **base)

    if len(names) == 1:
        text = f"No comparison possible: {names[0]} is the only arm."
        return Recommendation(kind="no_difference", text=text, **base)
    if losses.max() <= limits.equivalence:
        worst = describe_loss(float(losses.max()), kind, reference)
        text = (
            f"No meaningful difference: choosing any arm risks at most {worst}"
            f" in expectation, within the {thresholds.practical_difference * 100.0:g}% practical difference."
        )
        return Recommendation(kind="no_difference", text=text, **base)

    lead_loss = describe_loss(float(losses[leader]), kind, reference)
    guard = bool(separated(projection.centres[None], projection.pair_var[None], np.array([leader]), limits.alpha)[0])
    if prob_best[leader] >= limits.prob_best and losses[leader] <= limits.loss and guard:
        verb = f"Keep {names[leader]} (the control)" if leader == control else f"Ship {names[leader]}"
        chance = percent(float(prob_best[leader]))
        text = f"{verb}: {chance} likely best; choosing it risks an expected loss of {lead_loss}."
        return Recommendation(kind="ship", text=text, **base)

    needed, lower_bound = visitors_needed(projection, limits, float(trials.sum()))
    estimate = (
        f"more than {needed:,} more visitors may be needed"
        if lower_bound
        else f"about {needed:,} more visitors expected"
    )
    text = (
        f"Keep running: {names[leader]} leads ({percent(float(prob_best[leader]))} likely best); {estimate} to decide."
    )
    return Recommendation(
        kind="keep_running", text=text, visitors_needed=needed, visitors_needed_is_lower_bound=lower_bound, **base
    )
