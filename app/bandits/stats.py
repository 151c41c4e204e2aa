"""shared machinery of the stochastic policies: sufficient statistics and index policies."""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Callable
from typing import ClassVar

import numpy as np

from app.bandits.base import Policy, tied_best, uniform_over
from app.bandits.state import BanditState, Params, StatsState


class StatsPolicy(Policy):
    """policies whose state is (n, s, ss) per arm; updates are exact sums.

    ``np.add.at`` adds in event order, so one batch gives bit-for-bit the state that
    the same events applied one at a time give.
    """

    kind = "stochastic"
    state_type: ClassVar[type[BanditState]] = StatsState

    def _new_state(self, n_arms: int, params: Params, dim: int | None) -> BanditState:
        zeros = np.zeros(n_arms)
        return StatsState(self.name, n_arms, None, params, np.zeros(n_arms, dtype=np.int64), zeros, zeros.copy())

    def _apply(
        self,
        state: BanditState,
        arms: np.ndarray,
        rewards: np.ndarray,
        trials: np.ndarray,
        x: np.ndarray | None,
        propensities: np.ndarray | None,
    ) -> BanditState:
        assert isinstance(state, StatsState)
        n = state.n.copy()
        s = state.s.copy()
        ss = state.ss.copy()
        np.add.at(n, arms, trials)
        np.add.at(s, arms, rewards)
        np.add.at(ss, arms, rewards * rewards)
        return state.evolve(n=n, s=s, ss=ss)


class IndexPolicy(StatsPolicy):
    """deterministic index policies: play the arm with the largest index, ties at random.

    arms never tried have an infinite index, so each is tried once (in random order).
    """

    @abstractmethod
    def index(self, state: StatsState) -> np.ndarray:
        """(k,) index per arm."""

    def _select_one(self, state: BanditState, rng: np.random.Generator, x: np.ndarray | None) -> tuple[int, float]:
        assert isinstance(state, StatsState)
        best = tied_best(self.index(state))
        if best.size == 1:
            return int(best[0]), 1.0
        return int(best[rng.integers(best.size)]), 1.0 / best.size

    def _select_arms(self, state: BanditState, rng: np.random.Generator, n: int, x: np.ndarray | None) -> np.ndarray:
        assert isinstance(state, StatsState)
        best = tied_best(self.index(state))
        if best.size == 1:
            return np.full(n, best[0], dtype=np.int64)
        return best[rng.integers(best.size, size=n)]

    def _probs(self, state: BanditState, x: np.ndarray | None) -> np.ndarray:
        assert isinstance(state, StatsState)
        return uniform_over(tied_best(self.index(state)), state.n_arms)


def played_index(state: StatsState, bonus: Callable[[np.ndarray, np.ndarray, int], np.ndarray]) -> np.ndarray:
    """mean + ``bonus(mean, n, t)`` for tried arms (t = all trials so far), +inf for the others."""
    played = state.n > 0
    out = np.full(state.n_arms, np.inf)
    if played.any():
        n = state.n[played].astype(np.float64)
        mean = state.s[played] / n
        out[played] = mean + bonus(mean, n, int(state.n.sum()))
    return out
