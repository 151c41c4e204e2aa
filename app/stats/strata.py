"""arm means that stay honest when a bandit moves traffic while the base rate drifts.

a bandit gives an arm more visitors in some periods than in others; if the base rate moves at
the same time (weekday 5%, weekend 1%), pooled per-arm totals mix the arm's effect with the
periods it happened to be shown in and can even reverse the order of two arms (simpson's paradox).

the estimator is a two-way additive model with period fixed effects,
``y = alpha_period + delta_arm + noise``, fit by least squares on the (period, arm) cells. inside
a period every arm sees the same base rate, so comparisons are made within periods only, and a
period contributes to the comparison of two arms about n_i n_j / (n_i + n_j) visitors: a starved
arm's few visitors keep almost all their weight (they are compared with the leader's many in the
same hours), unlike a per-period average of rates, which throws them away. the arm's reported mean
is its effect on top of the traffic-weighted base rate, i.e. the rate it would have had on the whole
experiment's traffic; with a constant split (or a single period) it is exactly the pooled rate.

the variance is the sandwich of the least-squares fit with each period's within-period variance
(unbiased, pooled over arms), scaled per arm by the arm's own variance relative to the pooled one.
for the posterior quadrature the (correlated) contrasts are represented by independent per-arm
variances (exact for two arms and for a constant split), and every arm gets "effective counters":
the visitors and conversions that would give a pooled posterior of the same centre and width.
every statistic is a sum over periods, so simulations can take cumulative sums and analyse every
day of every run in one batch.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

TINY = 1e-12
SHRINK_OBS = 50.0


@dataclass(frozen=True, slots=True)
class PeriodSums:
    """sufficient statistics summed over periods (leading axes are batch axes).

    ``n``/``s``/``q`` (..., k): visitors, reward sums, squared-reward sums per arm; ``gram``
    (..., k, k) = sum_h n_h n_h' / N_h; ``score`` (..., k) = sum_h (s_h - n_h S_h / N_h);
    ``var_n`` (..., k) = sum_h v_h n_h, ``var_gram`` (..., k, k) = sum_h v_h n_h n_h' / N_h and
    ``var_cube`` (..., k, k, k) = sum_h v_h n_h (x) n_h (x) n_h / N_h^2, with v_h the period's
    within-period variance.
    """

    n: np.ndarray
    s: np.ndarray
    q: np.ndarray
    gram: np.ndarray
    score: np.ndarray
    var_n: np.ndarray
    var_gram: np.ndarray
    var_cube: np.ndarray


def period_sums(n: np.ndarray, s: np.ndarray, q: np.ndarray, cumulative: bool = False) -> PeriodSums:
    """statistics of (..., periods, k) counters, summed (or, with ``cumulative``, cumulated) over periods."""
    n, s, q = (np.asarray(x, dtype=float) for x in (n, s, q))
    big_n = n.sum(axis=-1, keepdims=True)
    big_s = s.sum(axis=-1, keepdims=True)
    big_q = q.sum(axis=-1, keepdims=True)
    safe_n = np.where(big_n > 0, big_n, 1.0)
    v = np.where(big_n >= 2, (big_q - big_s * big_s / safe_n) / np.maximum(big_n - 1.0, 1.0), 0.0)
    v = np.maximum(v, 0.0)
    scaled = n / safe_n
    gram = n[..., :, None] * scaled[..., None, :]
    parts = {
        "n": n,
        "s": s,
        "q": q,
        "gram": gram,
        "score": s - n * (big_s / safe_n),
        "var_n": v * n,
        "var_gram": v[..., None] * gram,
        "var_cube": (v[..., None] * gram)[..., None] * scaled[..., None, None, :],
    }
    axis = n.ndim - 2
    reduce = (lambda a: np.cumsum(a, axis=axis)) if cumulative else (lambda a: a.sum(axis=axis))
    return PeriodSums(**{key: reduce(value) for key, value in parts.items()})


@dataclass(frozen=True, slots=True)
class Estimate:
    """stratified estimates (..., k) and the contrast variances (..., k, k).

    ``means`` are the stratified arm means, ``pooled`` the plain totals' means; ``pair_var[i, j]`` is
    the variance of means[i] - means[j]; ``arm_var`` the independent per-arm representation of it;
    ``effective_n`` the visitors worth of evidence each arm carries (its own visitors when the
    split never changed); ``raw_var`` each arm's reward variance.
    """

    means: np.ndarray
    pooled: np.ndarray
    pair_var: np.ndarray
    arm_var: np.ndarray
    effective_n: np.ndarray
    raw_var: np.ndarray


def estimate(sums: PeriodSums) -> Estimate:
    """the fixed-effects fit of the module docstring, batched over leading axes."""
    n, s, q = sums.n, sums.s, sums.q
    k = n.shape[-1]
    total_n = n.sum(axis=-1, keepdims=True)
    total_s = s.sum(axis=-1, keepdims=True)
    overall = s.sum(axis=-1, keepdims=True) / np.maximum(total_n, 1.0)
    pooled = np.where(n > 0, s / np.where(n > 0, n, 1.0), overall)
    total_q = q.sum(axis=-1, keepdims=True)
    var_all = np.maximum((total_q - total_s * overall) / np.maximum(total_n - 1.0, 1.0), 0.0)
    own_ss = np.maximum(q - s * pooled, 0.0)
    shrunk = (own_ss + SHRINK_OBS * var_all) / np.maximum(n - 1.0 + SHRINK_OBS, 1.0)
    # 0/1 rewards: the variance of the beta(1, 1) posterior mean rate, which stays sensible at 0 of 15
    binary = ((q == s) & (s <= n)).all(axis=-1, keepdims=True)
    smoothed = (s + 1.0) / (n + 2.0)
    raw_var = np.where(binary, smoothed * (1.0 - smoothed), shrunk)
    ratio = np.where(var_all > TINY, raw_var / np.where(var_all > TINY, var_all, 1.0), 1.0)

    eye = np.eye(k)
    lap = n[..., :, None] * eye - sums.gram
    lap = (lap + np.swapaxes(lap, -1, -2)) / 2.0
    # L^+ = (L + c J / k)^-1 - J / (c k) for a connected laplacian (rows sum to 0), with J all ones:
    # well conditioned, unlike a pseudo-inverse that has to find the zero eigenvalue among rounding errors
    scale = np.maximum(np.diagonal(lap, axis1=-2, axis2=-1).mean(axis=-1), TINY)[..., None, None]
    ones = np.ones((k, k))
    inverse = np.linalg.pinv(lap + scale * ones / k, rcond=1e-12, hermitian=True) - ones / (scale * k)
    delta = np.einsum("...ij,...j->...i", inverse, sums.score)
    weights = n / np.maximum(total_n, 1.0)
    means = overall + delta - (weights * delta).sum(axis=-1, keepdims=True)
    # an arm never shown beside another arm in a period has no within-period comparison: its totals stand
    informed = np.diagonal(lap, axis1=-2, axis2=-1) > TINY * np.maximum(n, 1.0)
    means = np.where(informed, means, pooled)

    meat = (
        (ratio * sums.var_n)[..., :, None] * eye
        - ratio[..., :, None] * sums.var_gram
        - sums.var_gram * ratio[..., None, :]
        + np.einsum("...ijl,...l->...ij", sums.var_cube, ratio)
    )
    cov = inverse @ meat @ inverse
    diag = np.diagonal(cov, axis1=-2, axis2=-1)
    pair_var = np.maximum(diag[..., :, None] + diag[..., None, :] - 2.0 * cov, 0.0)
    # what each arm's mean would cost without periods: its share of the within-period variance
    base = np.where(n > 0, ratio * sums.var_n / np.where(n > 0, n * n, 1.0), np.inf)
    base_fallback = np.where(n > 0, raw_var / np.where(n > 0, n, 1.0), np.inf)
    base = np.where(base > TINY * np.maximum(np.abs(overall), 1.0) ** 2, base, base_fallback)
    both = informed[..., :, None] & informed[..., None, :]
    pair_var = np.where(both, pair_var, base[..., :, None] + base[..., None, :])
    pair_var = np.where(eye > 0, 0.0, pair_var)
    arm_var = _represent(pair_var, base)
    with np.errstate(invalid="ignore", divide="ignore"):
        effective = np.where(np.isfinite(arm_var) & (arm_var > 0), n * base / arm_var, n)
    effective = np.where(n > 0, np.minimum(np.nan_to_num(effective, nan=0.0, posinf=0.0), 1e12), 0.0)
    return Estimate(means, pooled, pair_var, arm_var, effective, raw_var)


def _represent(pair_var: np.ndarray, base: np.ndarray) -> np.ndarray:
    """independent per-arm variances whose sums reproduce the pairwise contrast variances.

    two arms: the one contrast split in proportion to the arms' unstratified variances; more arms:
    least squares over all pairs (exact when the pairs are additive, as with a constant split),
    floored at half the unstratified variance. arms without data keep an infinite variance.
    """
    k = pair_var.shape[-1]
    if k == 1:
        return base
    finite_base = np.where(np.isfinite(base), base, 0.0)
    usable = np.isfinite(base)
    if k == 2:
        share = finite_base / np.maximum(finite_base.sum(axis=-1, keepdims=True), TINY)
        contrast = pair_var[..., 0, 1][..., None]
        out = np.where(np.isfinite(contrast), contrast, 0.0) * share
    else:
        pv = np.where(np.isfinite(pair_var), pair_var, 0.0)
        total = pv.sum(axis=(-2, -1)) / 2.0
        out = (pv.sum(axis=-1) - total[..., None] / (k - 1)) / (k - 2)
    out = np.maximum(out, 0.5 * finite_base)
    return np.where(usable, out, np.inf)
