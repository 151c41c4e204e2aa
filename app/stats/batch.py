"""the verdict of ``analyze`` for many experiments at once, for simulations of the decision rule.

same estimator (``app.stats.strata``), posteriors, quadrature and rule (``app.stats.decision``)
as ``analyze``, batched over leading axes; it skips what only the page needs (intervals, lifts,
the visitors-needed projection). ``tests/unit/stats`` checks that both agree.
"""

from __future__ import annotations

import numpy as np

from app.stats.binary import beta_posterior
from app.stats.continuous import normal_gamma_posterior
from app.stats.decision import TOLERANCE, separated
from app.stats.models import DecisionThresholds, Kind
from app.stats.posterior import Posterior
from app.stats.quadrature import exact
from app.stats.strata import PeriodSums, estimate

SHIP, KEEP_RUNNING, NO_DIFFERENCE, NOT_ENOUGH_DATA = 0, 1, 2, 3
KINDS = ("ship", "keep_running", "no_difference", "not_enough_data")


def verdicts(
    sums: PeriodSums,
    kind: Kind = "binary",
    control: int = 0,
    thresholds: DecisionThresholds | None = None,
    prior: tuple[float, float] = (1.0, 1.0),
) -> tuple[np.ndarray, np.ndarray]:
    """(verdict codes, leader index) of shape sums.n.shape[:-1]; codes index ``KINDS``."""
    rules = thresholds or DecisionThresholds()
    shape = sums.n.shape[:-1]
    k = sums.n.shape[-1]
    flat = PeriodSums(*(np.reshape(getattr(sums, f), (-1, *getattr(sums, f).shape[len(shape) :])) for f in _FIELDS))
    fit = estimate(flat)
    n = flat.n
    eff = fit.effective_n
    post: Posterior
    if kind == "binary":
        post = beta_posterior(eff, np.clip(fit.means, 0.0, 1.0) * eff, prior)
    else:
        own = np.where(n > 0, np.maximum(flat.q - flat.s * fit.pooled, 0.0) / np.where(n > 0, n, 1.0), 0.0)
        post = normal_gamma_posterior(eff, fit.means * eff, eff * (fit.means**2 + own), prior).marginal
    means = post.mean
    active = n > 0
    best = exact(post)
    prob_best = np.where(active, best.prob_best, 0.0)
    prob_best = prob_best / np.maximum(prob_best.sum(axis=-1, keepdims=True), 1e-300)
    losses = np.where(active, np.maximum(best.expected_max[:, None] - means, 0.0), 0.0)
    leader = prob_best.argmax(axis=-1)
    out = np.full(leader.shape, KEEP_RUNNING)
    ref = np.where(means[:, control] > 0, means[:, control], np.abs(means).max(axis=-1))
    tolerance = TOLERANCE * np.maximum(1.0, ref)
    loss_limit = rules.max_expected_loss * ref + tolerance
    equivalence = rules.practical_difference * ref + tolerance
    guard = separated(fit.means, fit.pair_var, leader, 1.0 - rules.prob_best)
    rows = np.arange(leader.size)
    ship = (prob_best[rows, leader] >= rules.prob_best) & (losses[rows, leader] <= loss_limit) & guard
    out[ship] = SHIP
    out[losses.max(axis=-1) <= equivalence] = NO_DIFFERENCE
    if k == 1:
        out[:] = NO_DIFFERENCE
    out[n.sum(axis=-1) < rules.min_trials_per_arm * k] = NOT_ENOUGH_DATA
    return out.reshape(shape), leader.reshape(shape)


_FIELDS = ("n", "s", "q", "gram", "score", "var_n", "var_gram", "var_cube")
