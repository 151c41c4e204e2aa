"""probability to be best and expected maximum by deterministic quadrature, batched over problems.

for independent posteriors with cdfs F_j and densities f_j:

    P(arm i is best) = ∫ f_i(x) Π_{j≠i} F_j(x) dx
    E[max_j X_j]     = L + ∫_L^U (1 - Π_j F_j(x)) dx

where [L, U] runs from the highest lower support bound to the highest upper one (below L some
arm is almost surely above x, so Π F_j ≈ 0; above U every F_j ≈ 1). the expected loss of arm i
is then E[max] - E[X_i]. the integrals are composite Gauss-Legendre (8 nodes per piece) between
the arms' breakpoints (see ``app.stats.posterior``), thinned to at most one per stretch of the
narrowest posterior's width; Π_{j≠i} F_j comes from prefix and suffix products, never by division.

the probabilities must sum to 1; a sum off by more than 1e-3 flags the problem as ill-conditioned
and callers fall back to ``monte_carlo``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from scipy import special

from app.stats.posterior import Posterior

GAUSS_ORDER = 8
MERGE_WIDTHS = 1.0
CHUNK_ELEMENTS = 1_500_000
CONDITION_TOLERANCE = 1e-3
MC_DRAWS = 200_000
MC_SEED = 20_240_611
# ratios beyond ±1e12 (a lift of a trillion) carry no information; the bound keeps x = r y finite
RATIO_LIMIT = 1e12


@dataclass(frozen=True, slots=True)
class Best:
    """prob_best (B, k), expected_max (B,), and whether each problem passed the sum check."""

    prob_best: np.ndarray
    expected_max: np.ndarray
    well_conditioned: np.ndarray


@lru_cache(maxsize=16)
def legendre(order: int) -> tuple[np.ndarray, np.ndarray]:
    """Gauss-Legendre nodes and weights on [-1, 1]."""
    return np.polynomial.legendre.leggauss(order)


def gauss_nodes(edges: np.ndarray, order: int = GAUSS_ORDER) -> tuple[np.ndarray, np.ndarray]:
    """composite Gauss-Legendre nodes and weights over consecutive edges: (..., E) -> (..., (E-1) order)."""
    t, w = legendre(order)
    left, right = edges[..., :-1, None], edges[..., 1:, None]
    half = (right - left) / 2.0
    nodes = left + half * (t + 1.0)
    weights = half * w
    shape = (*edges.shape[:-1], -1)
    return nodes.reshape(shape), weights.reshape(shape)


def domain_edges(post: Posterior) -> tuple[np.ndarray, np.ndarray]:
    """merged breakpoints (B, E) over [L, U] of each problem, and L (B,)."""
    points = post.breakpoints()
    lower = points[..., 0].max(axis=-1)
    upper = points[..., -1].max(axis=-1)
    batch = points.shape[0]
    points = np.sort(np.clip(points.reshape(batch, -1), lower[:, None], upper[:, None]), axis=-1)
    spacing = MERGE_WIDTHS * post.width.min(axis=-1)
    span = np.maximum(upper - lower, np.finfo(float).tiny)
    spacing = np.maximum(spacing, span * 1e-9)[:, None]
    bucket = np.floor((points - lower[:, None]) / spacing)
    keep = np.ones(points.shape, dtype=bool)
    keep[:, 1:] = bucket[:, 1:] != bucket[:, :-1]
    keep[:, -1] = True
    # dropped points move to U, where they form empty pieces of zero weight
    points = np.sort(np.where(keep, points, upper[:, None]), axis=-1)
    return points[:, : int(keep.sum(axis=-1).max())], lower


def _exclusive_products(cdfs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Π_{j<i} F_j and Π_{j>i} F_j along axis 1 of (B, k, N)."""
    ones = np.ones_like(cdfs[:, :1])
    before = np.cumprod(np.concatenate([ones, cdfs[:, :-1]], axis=1), axis=1)
    after = np.cumprod(np.concatenate([ones, cdfs[:, :0:-1]], axis=1), axis=1)[:, ::-1]
    return before, after


def _integrated_cdfs(
    post: Posterior, edges: np.ndarray, lower: np.ndarray, order: int
) -> tuple[np.ndarray, np.ndarray]:
    """(F, f) at the nodes, F as F(L) + ∫_L^x f: whole pieces before the node's, then Gauss-Legendre on [left, x].

    about 5x cheaper than incomplete beta functions at every node; its errors (~1e-7 at order 5)
    are harmless for probabilities, but would be multiplied by the domain width in E[max].
    """
    batch, arms = post.mean.shape
    t, w = legendre(order)
    frac, half_w = (t + 1.0) / 2.0, w / 2.0
    left, width = edges[:, :-1], np.diff(edges, axis=-1)
    nodes = left[..., None] + width[..., None] * frac
    inner = left[..., None, None] + width[..., None, None] * (frac[:, None] * frac[None, :])
    shape = (batch, arms, width.shape[1], order)
    densities = post.pdf(nodes.reshape(batch, 1, -1)).reshape(shape)
    inner_densities = post.pdf(inner.reshape(batch, 1, -1)).reshape((*shape, order))
    per_piece = width[:, None, :] * (densities @ half_w)
    partial = (width[:, None, :, None] * frac) * (inner_densities @ half_w)
    start = post.cdf(lower[:, None, None])
    before_piece = np.cumsum(per_piece, axis=-1) - per_piece
    cdfs = np.clip(start[..., None] + before_piece[..., None] + partial, 0.0, 1.0)
    return cdfs.reshape(batch, arms, -1), densities.reshape(batch, arms, -1)


def _exact_chunk(post: Posterior, order: int, integrate_cdf: bool) -> Best:
    edges, lower = domain_edges(post)
    nodes, weights = gauss_nodes(edges, order)
    if integrate_cdf:
        cdfs, densities = _integrated_cdfs(post, edges, lower, order)
    else:
        cdfs, densities = post.cdf(nodes[:, None, :]), post.pdf(nodes[:, None, :])
    before, after = _exclusive_products(cdfs)
    prob = np.einsum("bkn,bkn,bkn,bn->bk", densities, before, after, weights)
    everyone = before[:, -1] * cdfs[:, -1]
    expected_max = lower + np.einsum("bn,bn->b", weights, 1.0 - everyone)
    total = prob.sum(axis=1)
    well = np.isfinite(total) & (np.abs(total - 1.0) <= CONDITION_TOLERANCE) & np.isfinite(expected_max)
    prob = np.clip(prob / np.where(total > 0, total, 1.0)[:, None], 0.0, 1.0)
    return Best(prob, expected_max, well)


def _chunked(post: Posterior, order: int, integrate_cdf: bool) -> Best:
    batch, arms = post.mean.shape
    if arms == 1:
        return Best(np.ones((batch, 1)), post.mean[:, 0].astype(float), np.ones(batch, dtype=bool))
    per_problem = arms * (20 * arms + 2) * order * (order + 1)
    step = max(1, CHUNK_ELEMENTS // per_problem)
    parts = [
        _exact_chunk(post.take(np.s_[start : start + step]), order, integrate_cdf) for start in range(0, batch, step)
    ]
    return Best(
        np.concatenate([p.prob_best for p in parts]),
        np.concatenate([p.expected_max for p in parts]),
        np.concatenate([p.well_conditioned for p in parts]),
    )


def exact(post: Posterior, order: int = GAUSS_ORDER) -> Best:
    """prob_best and E[max] of every problem of a (B, k) family, in memory-bounded chunks.

    ``order`` is the number of Gauss-Legendre nodes per piece (8: errors ~1e-10; 4: ~1e-5).
    """
    return _chunked(post, order, integrate_cdf=False)


def prob_best_fast(post: Posterior, order: int = 5) -> np.ndarray:
    """prob_best (B, k) only, with cdfs integrated from the densities (see ``_integrated_cdfs``)."""
    return _chunked(post, order, integrate_cdf=True).prob_best


def monte_carlo(post: Posterior, draws: int = MC_DRAWS, seed: int = MC_SEED) -> Best:
    """the same quantities from ``draws`` joint posterior draws with a fixed seed (deterministic)."""
    rng = np.random.default_rng(seed)
    batch, arms = post.mean.shape
    wins = np.zeros((batch, arms))
    max_sum = np.zeros(batch)
    chunk = max(1, 4_000_000 // max(1, batch * arms))
    done = 0
    while done < draws:
        size = min(chunk, draws - done)
        sample = post.sample(rng, size)
        best = sample.argmax(axis=1)
        for arm in range(arms):
            wins[:, arm] += (best == arm).sum(axis=-1)
        max_sum += sample.max(axis=1).sum(axis=-1)
        done += size
    return Best(wins / draws, max_sum / draws, np.ones(batch, dtype=bool))


def ratio_quantiles(
    arms: Posterior, spread: np.ndarray, control: Posterior, control_spread: float, probs: np.ndarray
) -> np.ndarray:
    """quantiles (k, len(probs)) of X_i / Y for arms X_i (a (k,) family) and the control Y (a (1,) family).

    P(X/Y <= r) = ∫_{y>0} f_Y(y) F_X(r y) dy + ∫_{y<0} f_Y(y) (1 - F_X(r y)) dy, integrated over
    the control's breakpoints; each quantile is solved by Newton steps on r, safeguarded by
    bisection inside the bracket found so far. ``spread`` (sd-like widths) only sets the start,
    a delta-method normal approximation. the control's mean must be non-zero.
    """
    edges = control.breakpoints()[0]
    y, w = gauss_nodes(edges)
    wy = w * control.pdf(y[None, :])[0]
    positive = y > 0

    k, m = arms.mean.shape[0], len(probs)
    index = np.repeat(np.arange(k), m)
    target = np.tile(np.asarray(probs, dtype=float), k)
    arm = arms.take(index)
    mu_y = float(control.mean[0])
    mu_x = arms.mean[index]
    ratio = mu_x / mu_y
    z = special.ndtri(target)
    sd = np.sqrt(spread[index] ** 2 + (ratio * control_spread) ** 2) / abs(mu_y)
    sd = np.maximum(sd, 1e-12 * np.maximum(np.abs(ratio), 1e-300))
    if mu_y > 0 and (mu_x > 0).all():
        # log-normal start: the ratio of two positive posteriors is skewed to the right
        log_sd = np.sqrt((spread[index] / mu_x) ** 2 + (control_spread / mu_y) ** 2)
        r = ratio * np.exp(np.clip(z * log_sd - log_sd**2 / 2.0, -700.0, 700.0))
    else:
        r = ratio + z * sd
    r = np.clip(r, -RATIO_LIMIT, RATIO_LIMIT)
    low = np.full_like(r, -np.inf)
    high = np.full_like(r, np.inf)
    step = sd.copy()
    for _iteration in range(80):
        x = r[:, None] * y[None, :]
        cdf = arm.cdf(x)
        h = np.where(positive, cdf, 1.0 - cdf) @ wy - target
        slope = (arm.pdf(x) * np.abs(y)) @ wy
        done = np.abs(h) < 1e-9
        low = np.where(h < 0, r, low)
        high = np.where(h > 0, r, high)
        if done.all() or np.all(done | (high - low <= 1e-13 * np.maximum(1.0, np.abs(r)))):
            break
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            newton = r - h / slope
        inside = np.isfinite(newton) & (newton > low) & (newton < high)
        bounded = np.isfinite(low) & np.isfinite(high)
        middle = 0.5 * (np.where(bounded, low, 0.0) + np.where(bounded, high, 0.0))
        fallback = np.where(bounded, middle, np.where(np.isfinite(low), low + step, high - step))
        step = np.where(inside | bounded, step, 2.0 * step)
        r = np.clip(np.where(done, r, np.where(inside, newton, fallback)), -RATIO_LIMIT, RATIO_LIMIT)
    ratios: np.ndarray = r.reshape(k, m)
    return ratios
