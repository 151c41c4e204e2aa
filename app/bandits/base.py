"""the policy interface every bandit implements, and the shared select/update plumbing.

public methods validate their input and then call small hooks the policies implement:
``_new_state``, ``_select_arms``, ``_probs``, ``_apply`` and, for speed, ``_select_one``.
see ``app.bandits`` for the trials/propensities contract of ``update``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import numpy as np

from app.bandits import checks
from app.bandits.errors import PolicyError
from app.bandits.floor import check_floor, explore, mix
from app.bandits.params import ParamSpec
from app.bandits.params import validate_params as _validate
from app.bandits.state import BanditState, Params, decode_arrays, parse_state_json

Kind = Literal["stochastic", "contextual", "adversarial"]

# float sums of [0, 1] rewards may overshoot the trial count by rounding
_SLACK = 1e-9


@dataclass(frozen=True, slots=True)
class Selection:
    """one decision: the arm, and the probability it had of being chosen (for the token)."""

    arm: int
    propensity: float


def argmax_random(values: np.ndarray, rng: np.random.Generator) -> int:
    """index of the largest value, ties broken uniformly at random."""
    ties = np.flatnonzero(values == values.max())
    if ties.size == 1:
        return int(ties[0])
    return int(ties[rng.integers(ties.size)])


def argmax_rows(values: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """row-wise argmax of an (n, k) array, ties broken uniformly at random per row."""
    if values.shape[0] == 1:
        return np.array([argmax_random(values[0], rng)])
    out: np.ndarray = values.argmax(axis=1)
    eq = values == values[np.arange(values.shape[0]), out][:, None]
    if np.count_nonzero(eq) == values.shape[0]:
        return out
    tied = np.flatnonzero(np.count_nonzero(eq, axis=1) > 1)
    keys = rng.random((tied.size, values.shape[1]))
    keys[~eq[tied]] = -1.0
    out[tied] = keys.argmax(axis=1)
    return out


def tied_best(values: np.ndarray) -> np.ndarray:
    """indices sharing the maximum of a 1-d array."""
    return np.flatnonzero(values == values.max())


def uniform_over(arms: np.ndarray, n_arms: int) -> np.ndarray:
    probs = np.zeros(n_arms)
    probs[arms] = 1.0 / arms.size
    return probs


class Policy(ABC):
    """a stateless bandit algorithm; all mutable information lives in immutable states.

    class attributes describe the policy for the dashboard: ``name`` (the api's protocol
    value), ``kind``, ``summary`` (one line: when to use it), ``param_specs``, and
    ``reward_bounds`` (``None`` means any finite reward).
    """

    name: ClassVar[str]
    kind: ClassVar[Kind]
    summary: ClassVar[str]
    param_specs: ClassVar[tuple[ParamSpec, ...]] = ()
    reward_bounds: ClassVar[tuple[float, float] | None] = (0.0, 1.0)
    needs_propensities: ClassVar[bool] = False
    state_type: ClassVar[type[BanditState]]

    @property
    def contextual(self) -> bool:
        return self.kind == "contextual"

    def param_schema(self) -> dict[str, dict[str, Any]]:
        """``{param: {"type", "default", "description", bounds...}}`` for forms and docs."""
        return {spec.name: spec.as_dict() for spec in self.param_specs}

    def describe(self) -> dict[str, Any]:
        """everything the dashboard's policy form needs, json-friendly."""
        return {
            "name": self.name,
            "kind": self.kind,
            "summary": self.summary,
            "params": self.param_schema(),
            "reward_bounds": list(self.reward_bounds) if self.reward_bounds else None,
            "needs_propensities": self.needs_propensities,
        }

    def validate_params(self, params: Mapping[str, Any] | None) -> dict[str, Any]:
        """params normalised with defaults; bad or unknown ones raise ``PolicyError(field=name)``."""
        return _validate(self.param_specs, params)

    def init_state(self, n_arms: int, params: Mapping[str, Any] | None = None, dim: int | None = None) -> BanditState:
        """a fresh state; ``dim`` is required by contextual policies and ignored by the others."""
        k = checks.check_n_arms(n_arms)
        d = checks.check_dim(dim) if self.contextual else None
        normalised = self.validate_params(params)
        return self._new_state(k, tuple(normalised.items()), d)

    def select(
        self, state: BanditState, rng: np.random.Generator, context: Any = None, floor: float = 0.0
    ) -> Selection:
        """one decision; non-contextual policies ignore ``context``.

        ``floor`` (the experiment's exploration floor, see ``app.bandits.floor``) sends that share of
        decisions to a uniformly random arm; the propensity returned is then the mixed probability.
        """
        self._own(state)
        x = checks.check_context(context, state.dim) if state.dim is not None else None
        f = check_floor(floor)
        if f > 0.0 and rng.random() < f:
            arm = int(rng.integers(state.n_arms))
            xs = None if x is None else x[None, :]
            probs = self._probs(state, xs)
            propensity = float(probs[arm] if xs is None else probs[0, arm])
        else:
            arm, propensity = self._select_one(state, rng, x)
        if f > 0.0:
            propensity = (1.0 - f) * propensity + f / state.n_arms
        return Selection(arm, propensity)

    def select_many(
        self, state: BanditState, rng: np.random.Generator, n: int, contexts: Any = None, floor: float = 0.0
    ) -> np.ndarray:
        """``n`` independent decisions from the same state (what ``n`` calls of ``select`` would do)."""
        self._own(state)
        count = checks.check_count(n)
        x = checks.check_contexts(contexts, count, state.dim) if state.dim is not None else None
        f = check_floor(floor)
        return explore(self._select_arms(state, rng, count, x), rng, f, state.n_arms)

    def select_many_with_propensities(
        self, state: BanditState, rng: np.random.Generator, n: int, contexts: Any = None, floor: float = 0.0
    ) -> tuple[np.ndarray, np.ndarray]:
        """like ``select_many``, plus each decision's propensity (mixed with the floor)."""
        self._own(state)
        count = checks.check_count(n)
        x = checks.check_contexts(contexts, count, state.dim) if state.dim is not None else None
        f = check_floor(floor)
        arms = explore(self._select_arms(state, rng, count, x), rng, f, state.n_arms)
        probs = mix(self._probs(state, x), f)
        if x is None:
            return arms, probs[arms]
        return arms, probs[np.arange(count), arms]

    def arm_probabilities(
        self,
        state: BanditState,
        rng: np.random.Generator | None = None,
        context: Any = None,
        floor: float = 0.0,
    ) -> np.ndarray:
        """each arm's current traffic share (sums to 1), with the exploration ``floor`` mixed in.

        exact where closed-form; for thompson sampling a monte-carlo estimate computed
        with a fixed internal seed, so it is a deterministic function of the state and
        does not consume ``rng`` (kept for api symmetry). contextual policies need a
        context: a vector gives the share for that visitor, an (m, dim) array the mean
        share over those visitors.
        """
        self._own(state)
        f = check_floor(floor)
        if state.dim is None:
            return mix(self._probs(state, None).copy(), f)
        if context is not None and np.ndim(context) == 2:
            x = checks.check_contexts(context, np.shape(context)[0], state.dim)
            if x.shape[0] == 0:
                raise PolicyError("context", "need at least one context")
            return mix(self._probs(state, x).mean(axis=0), f)
        x = checks.check_context(context, state.dim)
        return mix(self._probs(state, x[None, :])[0], f)

    def update(
        self,
        state: BanditState,
        arms: Any,
        rewards: Any,
        contexts: Any = None,
        propensities: Any = None,
        trials: Any = None,
    ) -> BanditState:
        """a new state after one batch of feedback events (see ``app.bandits`` for semantics)."""
        self._own(state)
        a = checks.check_arms(arms, state.n_arms)
        size = a.size
        r = checks.check_rewards(rewards, size, self.reward_bounds)
        t = checks.check_trials(trials, size)
        x = checks.check_contexts(contexts, size, state.dim) if state.dim is not None else None
        p = checks.check_propensities(propensities, size) if self.needs_propensities else None
        if size == 0:
            return state
        new = self._apply(state, a, r, t, x, p)
        self._check_conversions(new, a, t)
        return new

    def state_to_json(self, state: BanditState) -> str:
        """versioned json text; ``state_from_json`` gives back an equal state."""
        self._own(state)
        return state.to_json()

    def state_from_json(self, text: str | bytes) -> BanditState:
        doc = parse_state_json(text)
        if doc["policy"] != self.name:
            raise PolicyError("state", f"state belongs to {doc['policy']!r}, not {self.name!r}")
        try:
            k = checks.check_n_arms(doc["n_arms"])
            d = checks.check_dim(doc["dim"]) if self.contextual else None
            params = self.validate_params(doc["params"])
        except PolicyError as exc:
            raise PolicyError("state", f"state json is inconsistent: {exc}") from exc
        if not self.contextual and doc["dim"] is not None:
            raise PolicyError("state", "state json is inconsistent: dim given to a non-contextual policy")
        arrays = decode_arrays(doc["arrays"], self.state_type.array_specs(k, d))
        return self.state_type(self.name, k, d, tuple(params.items()), **arrays)

    def _own(self, state: BanditState) -> None:
        if not isinstance(state, self.state_type) or state.policy != self.name:
            raise PolicyError("state", f"this state does not belong to {self.name}")

    def _check_conversions(self, new: BanditState, arms: np.ndarray, trials: np.ndarray) -> None:
        # with every event a new trial, rewards within bounds cannot exceed them
        if trials.all():
            return
        if (new.n[arms[trials == 0]] == 0).any():
            raise PolicyError("trials", "a conversion (trials=0) needs its arm's exposure counted first")
        if self.reward_bounds is not None:
            hi = self.reward_bounds[1]
            if (new.s > hi * new.n + _SLACK * (1 + new.n)).any():
                raise PolicyError("trials", "an arm has more reward than its trials allow")

    def _select_one(self, state: BanditState, rng: np.random.Generator, x: np.ndarray | None) -> tuple[int, float]:
        xs = None if x is None else x[None, :]
        arm = int(self._select_arms(state, rng, 1, xs)[0])
        probs = self._probs(state, xs)
        return arm, float(probs[arm] if xs is None else probs[0, arm])

    @abstractmethod
    def _new_state(self, n_arms: int, params: Params, dim: int | None) -> BanditState: ...

    @abstractmethod
    def _select_arms(
        self, state: BanditState, rng: np.random.Generator, n: int, x: np.ndarray | None
    ) -> np.ndarray: ...

    @abstractmethod
    def _probs(self, state: BanditState, x: np.ndarray | None) -> np.ndarray:
        """(k,) probabilities without contexts, else (m, k) for an (m, dim) array."""

    @abstractmethod
    def _apply(
        self,
        state: BanditState,
        arms: np.ndarray,
        rewards: np.ndarray,
        trials: np.ndarray,
        x: np.ndarray | None,
        propensities: np.ndarray | None,
    ) -> BanditState: ...
