"""the interface every posterior family implements, and the normal family used for projections.

a posterior holds parameter arrays of one shape, typically (problems, arms); ``cdf``/``pdf`` take
points with one extra trailing axis, so parameters of shape (B, k) broadcast against x of shape
(B, 1, N) or (B, k, N). ``breakpoints`` gives, per arm, ascending points whose first and last
entries bound the support up to a negligible tail (< 1e-10), and which split the support into
pieces where the density is smooth; the quadrature integrates piecewise between them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, Self

import numpy as np
from scipy import special

# sd multiples of the breakpoints of near-normal posteriors; ±8.5 sd leaves a tail below 1e-16
NORMAL_OFFSETS = np.array([-8.5, -5.0, -3.0, -1.5, 0.0, 1.5, 3.0, 5.0, 8.5])
LOG_SQRT_2PI = 0.5 * np.log(2.0 * np.pi)


class Posterior(Protocol):
    """a family of independent one-dimensional posteriors, one per array element."""

    @property
    def mean(self) -> np.ndarray: ...

    @property
    def width(self) -> np.ndarray:
        """a scale on which the density changes (sd, or the t scale); sets the quadrature resolution."""
        ...

    def cdf(self, x: np.ndarray) -> np.ndarray: ...

    def pdf(self, x: np.ndarray) -> np.ndarray: ...

    def ppf(self, q: np.ndarray) -> np.ndarray: ...

    def breakpoints(self) -> np.ndarray: ...

    def take(self, index: tuple[np.ndarray, ...] | np.ndarray | slice) -> Self: ...

    def sample(self, rng: np.random.Generator, draws: int) -> np.ndarray:
        """draws of shape params.shape + (draws,)."""
        ...


def trailing(values: np.ndarray) -> np.ndarray:
    """parameters with a trailing axis to broadcast against points."""
    return np.asarray(values, dtype=float)[..., None]


@dataclass(frozen=True, slots=True)
class NormalPosterior:
    """N(loc, sd^2); used for the projections behind the 'visitors needed' estimate."""

    loc: np.ndarray
    sd: np.ndarray

    @property
    def mean(self) -> np.ndarray:
        return self.loc

    @property
    def width(self) -> np.ndarray:
        return self.sd

    def cdf(self, x: np.ndarray) -> np.ndarray:
        cdf: np.ndarray = special.ndtr((x - trailing(self.loc)) / trailing(self.sd))
        return cdf

    def pdf(self, x: np.ndarray) -> np.ndarray:
        sd = trailing(self.sd)
        z = (x - trailing(self.loc)) / sd
        pdf: np.ndarray = np.exp(-0.5 * z * z - LOG_SQRT_2PI) / sd
        return pdf

    def ppf(self, q: np.ndarray) -> np.ndarray:
        quantile: np.ndarray = self.loc + self.sd * special.ndtri(q)
        return quantile

    def breakpoints(self) -> np.ndarray:
        points: np.ndarray = trailing(self.loc) + trailing(self.sd) * NORMAL_OFFSETS
        return points

    def take(self, index: tuple[np.ndarray, ...] | np.ndarray | slice) -> NormalPosterior:
        return NormalPosterior(self.loc[index], self.sd[index])

    def sample(self, rng: np.random.Generator, draws: int) -> np.ndarray:
        noise = rng.standard_normal((*self.loc.shape, draws))
        return trailing(self.loc) + trailing(self.sd) * noise
