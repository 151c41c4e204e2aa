"""input checks shared by every policy; each failure is a ``PolicyError`` naming the field."""

from __future__ import annotations

from typing import Any

import numpy as np

from app.bandits.errors import PolicyError

MAX_ARMS = 1000
MAX_DIM = 256


def check_n_arms(n_arms: Any) -> int:
    if isinstance(n_arms, bool) or not isinstance(n_arms, int | np.integer):
        raise PolicyError("n_arms", "n_arms must be an integer")
    if not 1 <= int(n_arms) <= MAX_ARMS:
        raise PolicyError("n_arms", f"n_arms must be between 1 and {MAX_ARMS}")
    return int(n_arms)


def check_dim(dim: Any) -> int:
    if isinstance(dim, bool) or not isinstance(dim, int | np.integer):
        raise PolicyError("dim", "a contextual policy needs dim, the context length, as an integer")
    if not 1 <= int(dim) <= MAX_DIM:
        raise PolicyError("dim", f"dim must be between 1 and {MAX_DIM}")
    return int(dim)


def check_count(n: Any) -> int:
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or int(n) < 0:
        raise PolicyError("n", "n must be a non-negative integer")
    return int(n)


def check_arms(arms: Any, n_arms: int) -> np.ndarray:
    a = np.asarray(arms)
    if a.ndim == 0:
        a = a.reshape(1)
    if a.ndim != 1:
        raise PolicyError("arm", "arms must be a 1-d array of arm indices")
    if a.size == 0:
        return np.zeros(0, dtype=np.int64)
    if a.dtype.kind not in "iu":
        raise PolicyError("arm", "arm indices must be integers")
    if a.min() < 0 or a.max() >= n_arms:
        raise PolicyError("arm", f"arm indices must be between 0 and {n_arms - 1}")
    return a.astype(np.int64, copy=False)


def _float_vector(values: Any, size: int, field: str, what: str, finite: bool = True) -> np.ndarray:
    try:
        v = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise PolicyError(field, f"{what} must be numbers") from exc
    if v.ndim == 0:
        v = v.reshape(1)
    if v.shape != (size,):
        raise PolicyError(field, f"expected {size} {what}, got shape {v.shape}")
    if finite and not np.isfinite(v).all():
        raise PolicyError(field, f"{what} must be finite")
    return v


def check_rewards(rewards: Any, size: int, bounds: tuple[float, float] | None) -> np.ndarray:
    r = _float_vector(rewards, size, "reward", "rewards", finite=bounds is None)
    # nan fails both comparisons, so bounded rewards need no separate finiteness check
    if bounds is not None and size and not (r.min() >= bounds[0] and r.max() <= bounds[1]):
        raise PolicyError("reward", f"rewards must lie in [{bounds[0]:g}, {bounds[1]:g}] for this policy")
    return r


def check_trials(trials: Any, size: int) -> np.ndarray:
    if trials is None:
        return np.ones(size, dtype=np.int64)
    t = np.asarray(trials)
    if t.ndim == 0:
        t = t.reshape(1)
    if t.shape != (size,):
        raise PolicyError("trials", f"expected {size} trials flags, got shape {t.shape}")
    if t.dtype.kind not in "biu":
        raise PolicyError("trials", "trials must be an int or bool array of 0/1")
    t = t.astype(np.int64, copy=False)
    if size and (t.min() < 0 or t.max() > 1):
        raise PolicyError("trials", "trials must be 0 (adds to a counted trial) or 1 (a new trial)")
    return t


def check_propensities(propensities: Any, size: int) -> np.ndarray:
    if propensities is None:
        raise PolicyError("propensity", "this policy needs the propensity each arm was served with")
    p = _float_vector(propensities, size, "propensity", "propensities", finite=False)
    if size and not (p.min() > 0.0 and p.max() <= 1.0):
        raise PolicyError("propensity", "propensities must lie in (0, 1]")
    return p


def check_context(context: Any, dim: int) -> np.ndarray:
    if context is None:
        raise PolicyError("context", f"this policy needs a context vector of length {dim}")
    try:
        x = np.asarray(context, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise PolicyError("context", "context must be numbers") from exc
    if x.shape != (dim,):
        if x.shape == (1, dim):
            x = x[0]
        else:
            raise PolicyError("context", f"context must have length {dim}, got shape {x.shape}")
    if not np.isfinite(x).all():
        raise PolicyError("context", "context must be finite")
    return x


def check_contexts(contexts: Any, size: int, dim: int) -> np.ndarray:
    if contexts is None:
        raise PolicyError("context", f"this policy needs a ({size}, {dim}) array of contexts")
    try:
        x = np.asarray(contexts, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise PolicyError("context", "contexts must be numbers") from exc
    if x.ndim == 1 and size == 1:
        x = x.reshape(1, -1)
    if x.shape != (size, dim):
        raise PolicyError("context", f"contexts must have shape ({size}, {dim}), got {x.shape}")
    if not np.isfinite(x).all():
        raise PolicyError("context", "contexts must be finite")
    return x
