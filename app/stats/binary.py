"""conversion (Bernoulli) arms: the exact Beta-Binomial posterior.

with a Beta(alpha, beta) prior and s conversions out of n exposures the posterior of the rate is
Beta(alpha + s, beta + n - s): mean a / (a + b), variance ab / ((a + b)^2 (a + b + 1)).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import special

from app.stats.posterior import trailing

# sd multiples of the interior breakpoints
OFFSETS = np.array([-21.0, -13.0, -8.0, -5.0, -3.0, -1.5, 0.0, 1.5, 3.0, 5.0, 8.0, 13.0, 21.0])
# the support bound is mean ± (6.5 + 16 / sqrt(min(a, b))) sd, the heavier tail of a skewed Beta
# needing more sds; checked against the exact tails (< 1e-10 outside) for shapes 0.5 ... 1e7
TAIL_SDS = 6.5
SKEW_SDS = 16.0
# half-width of the sub-gaussian bound P(|X - mean| > t) <= 2 exp(-2 (a + b + 1) t^2) at 1e-12
# (Marchal & Arbel 2017: a Beta(a, b) is sub-gaussian with variance proxy 1 / (4 (a + b + 1)))
SUBGAUSSIAN = float(np.sqrt(np.log(2e12) / 2.0))
TINY = 1e-300
# betaincinv slows down ~10x for large shapes, where the Beta is near-normal and Newton from a
# Cornish-Fisher start converges to machine precision in three steps
NEWTON_SHAPE = 1000.0
NEWTON_STEPS = 3
BELOW_ONE = float(np.nextafter(1.0, 0.0))


@dataclass(frozen=True, slots=True)
class BetaPosterior:
    """Beta(a, b) posteriors of conversion rates."""

    a: np.ndarray
    b: np.ndarray

    @property
    def mean(self) -> np.ndarray:
        mean: np.ndarray = self.a / (self.a + self.b)
        return mean

    @property
    def sd(self) -> np.ndarray:
        total = self.a + self.b
        sd: np.ndarray = np.sqrt(self.a * self.b / (total * total * (total + 1.0)))
        return sd

    @property
    def width(self) -> np.ndarray:
        return self.sd

    def cdf(self, x: np.ndarray) -> np.ndarray:
        return special.betainc(trailing(self.a), trailing(self.b), np.clip(x, 0.0, 1.0))

    def pdf(self, x: np.ndarray) -> np.ndarray:
        a, b = trailing(self.a), trailing(self.b)
        inside = (x > 0.0) & (x < 1.0)
        x = np.clip(x, TINY, BELOW_ONE)
        log_pdf = (a - 1.0) * np.log(x) + (b - 1.0) * np.log1p(-x) - special.betaln(a, b)
        return np.where(inside, np.exp(np.minimum(log_pdf, 700.0)), 0.0)

    def ppf(self, q: np.ndarray) -> np.ndarray:
        a, b, q = np.broadcast_arrays(self.a, self.b, np.asarray(q, dtype=float))
        small = np.minimum(a, b) < NEWTON_SHAPE
        out = np.empty(a.shape)
        out[small] = special.betaincinv(a[small], b[small], q[small])
        if not small.all():
            out[~small] = _newton_ppf(a[~small], b[~small], q[~small])
        return out

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """an interval outside which each posterior has less than 1e-10 of its mass."""
        mean, sd = self.mean, self.sd
        sds = TAIL_SDS + SKEW_SDS / np.sqrt(np.minimum(self.a, self.b))
        half = np.minimum(SUBGAUSSIAN / np.sqrt(self.a + self.b + 1.0), sds * sd)
        return np.maximum(mean - half, 0.0), np.minimum(mean + half, 1.0)

    def breakpoints(self) -> np.ndarray:
        low, high = self.bounds()
        low, high = trailing(low), trailing(high)
        inner = np.clip(trailing(self.mean) + trailing(self.sd) * OFFSETS, low, high)
        return np.concatenate([low, inner, high], axis=-1)

    def take(self, index: tuple[np.ndarray, ...] | np.ndarray | slice) -> BetaPosterior:
        return BetaPosterior(self.a[index], self.b[index])

    def sample(self, rng: np.random.Generator, draws: int) -> np.ndarray:
        shape = (*self.a.shape, draws)
        return rng.beta(np.broadcast_to(trailing(self.a), shape), np.broadcast_to(trailing(self.b), shape))


def _newton_ppf(a: np.ndarray, b: np.ndarray, q: np.ndarray) -> np.ndarray:
    """quantiles of near-normal Betas: Cornish-Fisher start, then Newton steps on the exact cdf."""
    post = BetaPosterior(a, b)
    mean, sd = post.mean, post.sd
    skew = 2.0 * (b - a) * np.sqrt(a + b + 1.0) / ((a + b + 2.0) * np.sqrt(a * b))
    z = special.ndtri(q)
    x: np.ndarray = np.clip(mean + sd * (z + skew * (z * z - 1.0) / 6.0), TINY, BELOW_ONE)
    for _ in range(NEWTON_STEPS):
        step = (special.betainc(a, b, x) - q) / np.maximum(post.pdf(x[:, None])[:, 0], TINY)
        x = np.clip(x - step, TINY, BELOW_ONE)
    return x


def beta_posterior(trials: np.ndarray, successes: np.ndarray, prior: tuple[float, float]) -> BetaPosterior:
    """posterior of each rate; conversions are clipped to [0, trials]."""
    alpha, beta = prior
    if not (alpha > 0 and beta > 0 and np.isfinite(alpha) and np.isfinite(beta)):
        raise ValueError("the Beta prior needs two positive, finite parameters")
    n = np.maximum(np.asarray(trials, dtype=float), 0.0)
    s = np.clip(np.asarray(successes, dtype=float), 0.0, n)
    return BetaPosterior(alpha + s, beta + (n - s))


def binary_interval(n: int, successes: float, level: float) -> tuple[float, float, float]:
    """(observed rate, low, high) from the Beta(1 + s, 1 + n - s) posterior.

    the interval is equal-tailed, except that it is closed at 0 when s = 0 and at 1 when s = n
    (Brown, Cai & DasGupta's convention), so it always contains the observed rate. without
    trials: the prior's mean and interval, (0.5, (1 - level) / 2, (1 + level) / 2).
    """
    if n <= 0:
        tail = (1.0 - level) / 2.0
        return 0.5, tail, 1.0 - tail
    s = min(max(float(successes), 0.0), float(n))
    tail = (1.0 - level) / 2.0
    low, high = special.betaincinv(1.0 + s, 1.0 + n - s, np.array([tail, 1.0 - tail]))
    rate = s / n
    low = 0.0 if s == 0 else min(float(low), rate)
    high = 1.0 if s == n else max(float(high), rate)
    return rate, low, high
