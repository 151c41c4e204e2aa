"""stable, salted traffic buckets.

blake2b of (salt, unit) is the same in every process and after restarts (python's hash() is not), and a
different salt per experiment and purpose makes the buckets independent: the visitors at the front of one
rollout are not the ones at the front of the next. a larger percentage only adds visitors (same salt,
higher threshold), so widening a rollout never moves anyone who was already in.
"""

from __future__ import annotations

import hashlib

_SCALE = 100.0 / 2**64


def bucket(salt: str, unit: str) -> float:
    """a position in [0, 100) for `unit` (a visitor id) under `salt`."""
    digest = hashlib.blake2b(f"{salt}\x1f{unit}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") * _SCALE


def in_percent(salt: str, unit: str, percent: float) -> bool:
    if percent >= 100.0:
        return True
    if percent <= 0.0:
        return False
    return bucket(salt, unit) < percent
