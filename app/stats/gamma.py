"""Gamma(shape, rate) posteriors, for the exact win chances of stratified thompson sampling's relative rates."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import special

from app.stats.posterior import trailing

# quantiles that bound the support (tails below 1e-12) and split it where the density bends
_LOWER = [1e-12, 1e-9, 1e-6, 1e-4, 1e-3, 0.01, 0.05, 0.15, 0.3]
BREAK_PROBS = np.array([*_LOWER, 0.5, *(1.0 - p for p in reversed(_LOWER))])


@dataclass(frozen=True, slots=True)
class GammaPosterior:
    """Gamma(shape, rate) posteriors of positive quantities (mean shape / rate)."""

    shape: np.ndarray
    rate: np.ndarray

    @property
    def mean(self) -> np.ndarray:
        return np.asarray(self.shape / self.rate, dtype=np.float64)

    @property
    def width(self) -> np.ndarray:
        return np.asarray(np.sqrt(self.shape) / self.rate, dtype=np.float64)

    def cdf(self, x: np.ndarray) -> np.ndarray:
        return np.asarray(special.gammainc(trailing(self.shape), trailing(self.rate) * np.maximum(x, 0.0)))

    def pdf(self, x: np.ndarray) -> np.ndarray:
        shape, rate = trailing(self.shape), trailing(self.rate)
        y = np.maximum(x, 1e-300)
        log_pdf = shape * np.log(rate) + (shape - 1.0) * np.log(y) - rate * y - special.gammaln(shape)
        return np.where(x > 0, np.exp(log_pdf), 0.0)

    def ppf(self, q: np.ndarray) -> np.ndarray:
        return np.asarray(special.gammaincinv(self.shape, q) / self.rate, dtype=np.float64)

    def breakpoints(self) -> np.ndarray:
        return np.asarray(special.gammaincinv(trailing(self.shape), BREAK_PROBS) / trailing(self.rate))

    def take(self, index: tuple[np.ndarray, ...] | np.ndarray | slice) -> GammaPosterior:
        return GammaPosterior(self.shape[index], self.rate[index])

    def sample(self, rng: np.random.Generator, draws: int) -> np.ndarray:
        shape = (*self.shape.shape, draws)
        return np.asarray(rng.gamma(np.broadcast_to(trailing(self.shape), shape)) / trailing(self.rate))
