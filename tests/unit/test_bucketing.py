from __future__ import annotations

import subprocess
import sys

from app.domain.decisions.services import bucket
from app.runtime.keys import RedisKeys


def test_bucket_is_stable_across_processes_and_salted_per_experiment() -> None:
    here = [bucket("exp-a", 7, f"v{i}") for i in range(5)]
    code = "from app.domain.decisions.services import bucket; print([bucket('exp-a', 7, f'v{i}') for i in range(5)])"
    there = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert repr(here) == there.strip()
    other = [bucket("exp-b", 7, f"v{i}") for i in range(5)]
    assert here != other and all(0 <= b < 100 for b in here + other)


def test_bucket_is_roughly_uniform() -> None:
    positions = [bucket("exp", 1, f"visitor-{i}") for i in range(20_000)]
    below_ten = sum(p < 10 for p in positions) / len(positions)
    assert 0.09 < below_ten < 0.11


def test_shards_are_stable() -> None:
    keys = RedisKeys("p:", 4)
    assert keys.shard_of("abc") == keys.shard_of("abc")
    assert {keys.shard_of(f"e{i}") for i in range(50)} == {0, 1, 2, 3}
