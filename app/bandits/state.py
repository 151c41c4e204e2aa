"""immutable policy states and their versioned json form.

a state is a frozen dataclass of small numpy arrays (made read-only) plus the
normalised params it was created with, so ``select``/``update`` need nothing else.
every state counts ``n`` (trials per arm, int64) and ``s`` (reward sum per arm);
the dashboard can read both whatever the policy.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, fields
from typing import Any, ClassVar

import numpy as np

from app.bandits.errors import PolicyError

STATE_FORMAT = "levers.bandit_state"
STATE_VERSION = 1

Params = tuple[tuple[str, Any], ...]

_ARRAY_NAMES: dict[type, tuple[str, ...]] = {}


@dataclass(frozen=True, eq=False, slots=True)
class BanditState:
    """base state: identity, params and per-arm counts; subclasses add arrays."""

    policy: str
    n_arms: int
    dim: int | None
    params: Params
    n: np.ndarray
    s: np.ndarray

    meta_fields: ClassVar[tuple[str, ...]] = ("policy", "n_arms", "dim", "params")

    def __post_init__(self) -> None:
        for name in self.array_names():
            getattr(self, name).flags.writeable = False

    @classmethod
    def array_names(cls) -> tuple[str, ...]:
        names = _ARRAY_NAMES.get(cls)
        if names is None:
            names = _ARRAY_NAMES[cls] = tuple(f.name for f in fields(cls) if f.name not in cls.meta_fields)
        return names

    def evolve(self, **arrays: np.ndarray) -> BanditState:
        """a copy with some arrays replaced (a cheaper ``dataclasses.replace``)."""
        values = [getattr(self, k) for k in self.meta_fields]
        values += [arrays.get(k, getattr(self, k)) for k in self.array_names()]
        return type(self)(*values)

    @classmethod
    def array_specs(cls, n_arms: int, dim: int | None) -> dict[str, tuple[str, tuple[int, ...]]]:
        """dtype and shape of every array, used to check state json."""
        return {"n": ("<i8", (n_arms,)), "s": ("<f8", (n_arms,))}

    @property
    def total_trials(self) -> int:
        return int(self.n.sum())

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        assert isinstance(other, BanditState)
        if any(getattr(self, k) != getattr(other, k) for k in self.meta_fields):
            return False
        for name in self.array_names():
            a, b = getattr(self, name), getattr(other, name)
            if a.dtype != b.dtype or a.shape != b.shape or not np.array_equal(a, b):
                return False
        return True

    # states hold numpy arrays and compare by value, so they are unhashable; typeshed types __hash__ as a method
    __hash__ = None  # type: ignore[assignment]

    def to_json(self) -> str:
        arrays = {}
        for name in self.array_names():
            arr = np.ascontiguousarray(getattr(self, name))
            le = arr.astype(arr.dtype.newbyteorder("<"), copy=False)
            arrays[name] = {
                "dtype": le.dtype.str,
                "shape": list(arr.shape),
                "data": base64.b64encode(le.tobytes()).decode("ascii"),
            }
        doc = {
            "format": STATE_FORMAT,
            "version": STATE_VERSION,
            "policy": self.policy,
            "n_arms": self.n_arms,
            "dim": self.dim,
            "params": dict(self.params),
            "arrays": arrays,
        }
        return json.dumps(doc, separators=(",", ":"), allow_nan=False)


@dataclass(frozen=True, eq=False, slots=True)
class StatsState(BanditState):
    """sufficient statistics: ``n`` trials, ``s`` reward sum and ``ss`` sum of squared rewards."""

    ss: np.ndarray

    @classmethod
    def array_specs(cls, n_arms: int, dim: int | None) -> dict[str, tuple[str, tuple[int, ...]]]:
        return {"n": ("<i8", (n_arms,)), "s": ("<f8", (n_arms,)), "ss": ("<f8", (n_arms,))}


@dataclass(frozen=True, eq=False, slots=True)
class StratifiedState(StatsState):
    """period-stratified counts (``stratified_ts``) on top of the pooled ``n``/``s``/``ss``.

    ``pn``/``ps``: trials and reward sum per arm in the open period; ``rs``/``re``: reward sum and
    its expectation under the period baselines, per arm, over the closed periods.
    """

    pn: np.ndarray
    ps: np.ndarray
    rs: np.ndarray
    re: np.ndarray

    @classmethod
    def array_specs(cls, n_arms: int, dim: int | None) -> dict[str, tuple[str, tuple[int, ...]]]:
        specs = StatsState.array_specs(n_arms, dim)
        specs.update({"pn": ("<i8", (n_arms,)), "ps": ("<f8", (n_arms,)), "rs": ("<f8", (n_arms,))})
        specs["re"] = ("<f8", (n_arms,))
        return specs


@dataclass(frozen=True, eq=False, slots=True)
class LinearState(BanditState):
    """disjoint per-arm ridge regression: ``a`` = λI + Σxxᵀ, its inverse, ``b`` = Σrx, ``theta`` = a⁻¹b."""

    a: np.ndarray
    a_inv: np.ndarray
    b: np.ndarray
    theta: np.ndarray

    @classmethod
    def array_specs(cls, n_arms: int, dim: int | None) -> dict[str, tuple[str, tuple[int, ...]]]:
        d = dim or 0
        return {
            "n": ("<i8", (n_arms,)),
            "s": ("<f8", (n_arms,)),
            "a": ("<f8", (n_arms, d, d)),
            "a_inv": ("<f8", (n_arms, d, d)),
            "b": ("<f8", (n_arms, d)),
            "theta": ("<f8", (n_arms, d)),
        }


@dataclass(frozen=True, eq=False, slots=True)
class GainState(BanditState):
    """adversarial policies: ``g`` the importance-weighted cumulative gain estimate per arm."""

    g: np.ndarray

    @classmethod
    def array_specs(cls, n_arms: int, dim: int | None) -> dict[str, tuple[str, tuple[int, ...]]]:
        return {"n": ("<i8", (n_arms,)), "s": ("<f8", (n_arms,)), "g": ("<f8", (n_arms,))}


def parse_state_json(text: str | bytes) -> dict[str, Any]:
    """decode the envelope and its arrays; the policy checks name and params."""
    try:
        doc = json.loads(text)
    except (TypeError, ValueError) as exc:
        raise PolicyError("state", f"state is not valid json: {exc}") from exc
    if not isinstance(doc, dict) or doc.get("format") != STATE_FORMAT:
        raise PolicyError("state", "not a levers bandit state")
    if doc.get("version") != STATE_VERSION:
        raise PolicyError("state", f"unsupported state version {doc.get('version')!r}")
    for key in ("policy", "n_arms", "dim", "params", "arrays"):
        if key not in doc:
            raise PolicyError("state", f"state json lacks {key!r}")
    if not isinstance(doc["arrays"], dict) or not isinstance(doc["params"], dict):
        raise PolicyError("state", "state json is malformed")
    return doc


def decode_arrays(raw: dict[str, Any], specs: dict[str, tuple[str, tuple[int, ...]]]) -> dict[str, np.ndarray]:
    if set(raw) != set(specs):
        raise PolicyError("state", f"state arrays must be {sorted(specs)}")
    out = {}
    for name, (dtype, shape) in specs.items():
        item = raw[name]
        try:
            if item["dtype"] != dtype or tuple(item["shape"]) != shape:
                raise PolicyError("state", f"state array {name} should be {dtype} {shape}")
            data = base64.b64decode(item["data"], validate=True)
            arr = np.frombuffer(data, dtype=np.dtype(dtype)).reshape(shape)
        except (KeyError, TypeError, ValueError) as exc:
            if isinstance(exc, PolicyError):
                raise
            raise PolicyError("state", f"state array {name} is malformed") from exc
        if arr.dtype.kind == "f" and not np.isfinite(arr).all():
            raise PolicyError("state", f"state array {name} is not finite")
        out[name] = arr.astype(arr.dtype.newbyteorder("="), copy=False)
    return out
