"""fixed-weight splits: a deterministic arm per (experiment, visitor), reproducible in any language.

the function (also in the readme, with test vectors):

    digest = blake2b(utf8(f"split:{experiment_id}" + "\\x1f" + visitor_id), digest_size=8)
    position = int.from_bytes(digest, "big") >> 11          # an integer in [0, 2**53)
    arm = the arm of the range [start, end) holding position

the salted digest is the one app.targeting.bucketing uses; keeping 53 bits makes every position and range
bound an exact integer that a javascript number (or a double anywhere) holds without rounding.

ranges are integers on [0, 2**53). a new split lays the weights out in arm order (cumulative ranges). a
weight change keeps the layout and moves only what must move: each arm whose weight shrinks gives away the
top of its ranges, and the arms that grow take exactly those pieces, so the share of visitors who change arm
is the sum of the decreases (the least any assignment can move).
"""

from __future__ import annotations

import bisect
import hashlib
import math
from collections.abc import Sequence

SPACE = 2**53
WEIGHT_TOLERANCE = 1e-9

Range = tuple[int, int, int]  # start, end (exclusive), arm index


class SplitError(ValueError):
    pass


def position(experiment_id: str, visitor: str) -> int:
    """the visitor's place on [0, 2**53) for this experiment's split."""
    digest = hashlib.blake2b(f"split:{experiment_id}\x1f{visitor}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") >> 11


def check_weights(weights: Sequence[float], n_arms: int) -> list[float]:
    """one non-negative weight per arm, summing to 1 (within 1e-9); raises SplitError saying what is wrong."""
    if len(weights) != n_arms:
        raise SplitError(f"weights needs one weight per arm: {n_arms}, got {len(weights)}")
    out = [float(w) for w in weights]
    if any(not math.isfinite(w) or w < 0 for w in out):
        raise SplitError("weights must be non-negative numbers")
    if abs(sum(out) - 1.0) > WEIGHT_TOLERANCE:
        raise SplitError(f"weights must sum to 1, they sum to {sum(out):.12g}")
    return out


def equal_weights(n_arms: int) -> list[float]:
    return [1.0 / n_arms] * n_arms


def integer_shares(weights: Sequence[float]) -> list[int]:
    """the weights as whole positions summing exactly to 2**53 (largest remainder, ties to the lower arm)."""
    total = sum(weights)
    raw = [w / total * SPACE for w in weights]
    shares = [math.floor(r) for r in raw]
    short = SPACE - sum(shares)
    by_remainder = sorted(range(len(raw)), key=lambda i: (-(raw[i] - shares[i]), i))
    for i in by_remainder[:short]:
        shares[i] += 1
    return shares


def layout(weights: Sequence[float]) -> list[Range]:
    """a fresh split: cumulative ranges in arm order; arms of weight 0 get none."""
    ranges: list[Range] = []
    start = 0
    for arm, share in enumerate(integer_shares(weights)):
        if share:
            ranges.append((start, start + share, arm))
            start += share
    return ranges


def shares_of(ranges: Sequence[Range], n_arms: int) -> list[int]:
    shares = [0] * n_arms
    for start, end, arm in ranges:
        shares[arm] += end - start
    return shares


def rebalance(ranges: Sequence[Range], weights: Sequence[float]) -> list[Range]:
    """the split for new weights that moves the fewest positions from `ranges` (see the module docstring)."""
    n_arms = len(weights)
    if not ranges or any(arm >= n_arms for _, _, arm in ranges) or _covered(ranges) != SPACE:
        return layout(weights)
    target = integer_shares(weights)
    have = shares_of(ranges, n_arms)
    kept: list[Range] = []
    freed: list[tuple[int, int]] = []
    give = [max(0, h - t) for h, t in zip(have, target, strict=True)]
    # shrinking arms give away the top of their ranges, highest positions first
    for start, end, arm in sorted(ranges, key=lambda r: -r[0]):
        length = end - start
        if give[arm] >= length:
            freed.append((start, end))
            give[arm] -= length
        elif give[arm] > 0:
            freed.append((end - give[arm], end))
            kept.append((start, end - give[arm], arm))
            give[arm] = 0
        else:
            kept.append((start, end, arm))
    freed.sort()
    take = [max(0, t - h) for h, t in zip(have, target, strict=True)]
    pieces = iter(freed)
    piece: tuple[int, int] | None = None
    for arm in range(n_arms):
        while take[arm] > 0:
            if piece is None:
                piece = next(pieces)
            start, end = piece
            used = min(take[arm], end - start)
            kept.append((start, start + used, arm))
            take[arm] -= used
            piece = (start + used, end) if start + used < end else None
    return _merge(kept)


def _covered(ranges: Sequence[Range]) -> int:
    return sum(end - start for start, end, _ in ranges)


def _merge(ranges: list[Range]) -> list[Range]:
    merged: list[Range] = []
    for start, end, arm in sorted(ranges):
        if merged and merged[-1][2] == arm and merged[-1][1] == start:
            merged[-1] = (merged[-1][0], end, arm)
        else:
            merged.append((start, end, arm))
    return merged


class Split:
    """a split ready for the hot path: one bisect per visitor."""

    __slots__ = ("arms", "starts")

    def __init__(self, ranges: Sequence[Sequence[int]]) -> None:
        ordered = sorted((int(r[0]), int(r[2])) for r in ranges)
        self.starts = [start for start, _ in ordered]
        self.arms = [arm for _, arm in ordered]

    def arm_at(self, place: int) -> int:
        return self.arms[bisect.bisect_right(self.starts, place) - 1]

    def arm_for(self, experiment_id: str, visitor: str) -> int:
        return self.arm_at(position(experiment_id, visitor))
