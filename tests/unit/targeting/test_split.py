"""the fixed split: deterministic per visitor, faithful to its weights, and frugal when weights change."""

from __future__ import annotations

import itertools
import subprocess
import sys

import numpy as np
import pytest
from scipy import stats

from app.targeting.split import (
    SPACE,
    Split,
    SplitError,
    check_weights,
    integer_shares,
    layout,
    position,
    rebalance,
    shares_of,
)

EXPERIMENT = "7f1c9a52-0000-4000-8000-000000000001"
IDS = [f"visitor-{i}" for i in range(10_000)]


def arms_of(ranges: list, ids: list[str] = IDS, experiment: str = EXPERIMENT) -> np.ndarray:
    split = Split(ranges)
    return np.array([split.arm_for(experiment, v) for v in ids])


def test_the_readme_vectors() -> None:
    # the same figures are in the readme for sdk authors; change both or neither
    assert layout([0.5, 0.3, 0.2]) == [
        (0, 4503599627370496, 0),
        (4503599627370496, 7205759403792794, 1),
        (7205759403792794, 9007199254740992, 2),
    ]
    assert position(EXPERIMENT, "alice") == 3959460964818416
    assert position(EXPERIMENT, "bob") == 6163389381680300
    assert position(EXPERIMENT, "v-42") == 210178069594116
    split = Split(layout([0.5, 0.3, 0.2]))
    assert [split.arm_for(EXPERIMENT, v) for v in ("alice", "bob", "v-42")] == [0, 1, 0]


def test_another_process_assigns_the_same_arms() -> None:
    ranges = layout([0.25, 0.25, 0.5])
    here = arms_of(ranges)
    code = (
        "import sys; from app.targeting.split import Split, layout;"
        f"s = Split(layout([0.25, 0.25, 0.5]));"
        f"print(''.join(str(s.arm_for({EXPERIMENT!r}, f'visitor-{{i}}')) for i in range(10_000)))"
    )
    # a fresh interpreter with a different hash seed: python's hash() would differ, blake2b must not
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env={"PYTHONHASHSEED": "12345"}
    ).stdout.strip()
    assert np.array_equal(np.array([int(c) for c in out]), here)
    assert len(set(here.tolist())) == 3


def test_same_visitor_same_arm_and_experiments_are_independent() -> None:
    ranges = layout([0.5, 0.5])
    assert np.array_equal(arms_of(ranges), arms_of(ranges))
    other = arms_of(ranges, experiment="another-experiment")
    # independent salts: agreement near 50%, not 100%
    agreement = float(np.mean(other == arms_of(ranges)))
    assert 0.47 < agreement < 0.53


@pytest.mark.parametrize("weights", [[0.5, 0.5], [0.1, 0.9], [0.2, 0.3, 0.5], [0.7, 0.0, 0.3], [0.25] * 4])
def test_weights_are_respected(weights: list[float]) -> None:
    counts = np.bincount(arms_of(layout(weights)), minlength=len(weights))
    assert counts[np.array(weights) == 0].sum() == 0
    for arm, w in enumerate(weights):
        if 0 < w < 1:
            assert stats.binomtest(int(counts[arm]), len(IDS), w).pvalue > 0.001, (arm, counts)
    if len(weights) > 2:
        expected = np.array(weights) * len(IDS)
        keep = expected > 0
        assert stats.chisquare(counts[keep], expected[keep]).pvalue > 0.001


def test_a_biased_split_is_caught_by_the_same_check() -> None:
    # the binomial check above can fail: a 52/48 split looks wrong against 50/50 at 10,000 ids
    counts = np.bincount(arms_of(layout([0.53, 0.47])), minlength=2)
    assert stats.binomtest(int(counts[0]), len(IDS), 0.5).pvalue < 0.001


CHANGES = [
    ([0.5, 0.5], [0.3, 0.7]),
    ([0.5, 0.3, 0.2], [0.2, 0.3, 0.5]),
    ([0.25, 0.25, 0.25, 0.25], [0.4, 0.1, 0.4, 0.1]),
    ([0.1, 0.8, 0.1], [0.4, 0.2, 0.4]),
    ([1 / 3] * 3, [0.0, 0.5, 0.5]),
]


@pytest.mark.parametrize(("before", "after"), CHANGES)
def test_a_weight_change_moves_the_fewest_visitors(before: list[float], after: list[float]) -> None:
    old = layout(before)
    new = rebalance(old, after)
    assert shares_of(new, len(after)) == integer_shares(after)
    # exact on the whole space: the positions that changed arm are the sum of the decreases
    minimum = sum(max(0, b - a) for b, a in zip(integer_shares(before), integer_shares(after), strict=True))
    assert moved_positions(old, new) == minimum
    # and on 10,000 ids, within sampling error of that minimum
    share_moved = float(np.mean(arms_of(old) != arms_of(new)))
    theory = sum(max(0.0, b - a) for b, a in zip(before, after, strict=True))
    assert abs(share_moved - theory) < 4 * np.sqrt(theory * (1 - theory) / len(IDS)) + 1e-9
    # a naive re-layout in arm order moves more whenever an arm in the middle shrinks
    naive = moved_positions(old, layout(after))
    assert naive >= minimum


def test_a_chain_of_changes_stays_minimal_and_compact() -> None:
    rng = np.random.default_rng(7)
    ranges = layout([0.25] * 4)
    for _ in range(50):
        weights = rng.dirichlet(np.ones(4)).tolist()
        before = shares_of(ranges, 4)
        new = rebalance(ranges, weights)
        after = shares_of(new, 4)
        assert after == integer_shares(weights)
        assert moved_positions(ranges, new) == sum(max(0, b - a) for b, a in zip(before, after, strict=True))
        ranges = new
    assert sum(e - s for s, e, _ in ranges) == SPACE
    assert len(ranges) < 200  # fragments stay bounded by the number of changes times arms


def moved_positions(old: list, new: list) -> int:
    """how many positions of [0, 2**53) have a different arm under `new`, by sweeping both range lists."""
    cuts = sorted({s for s, _, _ in old} | {s for s, _, _ in new} | {SPACE})
    a, b = Split(old), Split(new)
    return sum(hi - lo for lo, hi in itertools.pairwise(cuts) if a.arm_at(lo) != b.arm_at(lo))


@pytest.mark.parametrize(
    ("weights", "message"),
    [([0.5, 0.5, 0.0], "one weight per arm"), ([1.2, -0.2], "non-negative"), ([0.5, 0.4], "sum to 1")],
)
def test_bad_weights_are_refused(weights: list[float], message: str) -> None:
    with pytest.raises(SplitError, match=message):
        check_weights(weights, 2)


def test_weights_within_tolerance_are_accepted() -> None:
    assert check_weights([0.1, 0.2, 0.7 + 5e-10], 3)[2] == pytest.approx(0.7)
