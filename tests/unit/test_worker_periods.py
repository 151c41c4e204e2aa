"""the worker's bucketing helpers: the period an event is counted in, and the entries past a checkpoint."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest

from app.worker.counting import period_start
from app.worker.streams import Entry, entries_after


@pytest.mark.parametrize("seconds", [60, 3600, 86400])
def test_a_period_starts_where_the_timestamp_rounds_down_to(seconds: int) -> None:
    rng = random.Random(7)
    stamps = [1_764_583_200.0, 1_764_583_199.999, 1_764_583_200.0004, 0.5]
    stamps += [rng.uniform(1.6e9, 1.9e9) for _ in range(2000)]
    for ts in stamps:
        expected = datetime.fromtimestamp(ts - ts % seconds, tz=UTC)
        assert period_start(ts, seconds) == expected, ts
        assert period_start(ts, seconds).tzinfo is UTC


def test_entries_after_a_checkpoint_compare_ids_as_numbers_not_text() -> None:
    ids = ["1700000000000-9", "1700000000000-10", "1700000000001-0", "999999999999-5"]
    entries = [Entry(i, None) for i in ids]
    assert entries_after(entries, None) == entries
    # "-10" sorts before "-9" as text; as a stream position it comes after
    assert [e.id for e in entries_after(entries, "1700000000000-9")] == ["1700000000000-10", "1700000000001-0"]
    assert entries_after(entries, "1700000000001-0") == []
    assert [e.id for e in entries_after(entries, "0-0")] == ids
