"""the worker's per-segment counters: bounded per experiment and dimension, however many values arrive."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

from app.runtime.records import Event
from app.targeting.segments import MAX_VALUES
from app.worker.counting import Tally
from app.worker.segments import admit, expand, fold

H = 1_800_000_000 - 1_800_000_000 % 86400  # a day boundary
DAY = datetime.fromtimestamp(H, tz=UTC)


def test_a_flood_of_distinct_values_keeps_the_most_frequent_and_folds_the_rest() -> None:
    candidates: Counter[tuple[str, str, str]] = Counter()
    for i in range(5000):
        candidates[("e", "utm_source", f"junk{i}")] += 1
    candidates[("e", "utm_source", "google")] += 40
    candidates[("e", "utm_source", "")] += 7
    candidates[("e", "device", "mobile")] += 3
    mapping, admitted = admit({("e", "utm_source"): {"newsletter"}}, candidates, cap=10)
    kept = {v for (_, d, v) in admitted if d == "utm_source"}
    # the frequent one first, then junk until the cap; unset never takes a place
    assert "google" in kept and len(kept) == 9
    assert mapping[("e", "utm_source", "google")] == "google"
    assert mapping[("e", "utm_source", "")] == ""
    assert sum(1 for (_, d, _), v in mapping.items() if d == "utm_source" and v == "other") == 5000 - 8
    # another dimension has its own room
    assert mapping[("e", "device", "mobile")] == "mobile"


def test_a_full_dimension_sends_every_new_value_to_other_and_keeps_known_ones() -> None:
    known = {("e", "country"): {f"C{i}" for i in range(MAX_VALUES)}}
    mapping, admitted = admit(known, Counter({("e", "country", "C1"): 1, ("e", "country", "DE"): 99}))
    assert admitted == [] and mapping == {("e", "country", "C1"): "C1", ("e", "country", "DE"): "other"}


def test_fold_adds_counters_of_values_sent_to_other() -> None:
    totals = {
        ("e", "utm_source", "a", 0, DAY): [1.0, 1.0, 1.0, 1.0],
        ("e", "utm_source", "b", 0, DAY): [2.0, 0.0, 0.0, 0.0],
        ("e", "utm_source", "other", 0, DAY): [1.0, 0.0, 0.0, 0.0],
    }
    mapping = {("e", "utm_source", "a"): "other", ("e", "utm_source", "b"): "b"}
    assert fold(totals, mapping) == {
        ("e", "utm_source", "other", 0, DAY): [2.0, 1.0, 1.0, 1.0],
        ("e", "utm_source", "b", 0, DAY): [2.0, 0.0, 0.0, 0.0],
    }


def test_tally_counts_the_arms_events_per_segment_and_day_and_leaves_holdout_out() -> None:
    t = Tally()
    segment = ("mobile", "DE", "de", "google", "cpc", "new")
    t.add(Event(kind="x", experiment="e", arm=1, reward=0, trials=1, ts=H + 50, issued=H + 50, segment=segment))
    t.add(Event(kind="f", experiment="e", arm=1, reward=1.0, trials=0, ts=H + 90000, issued=H + 50, segment=segment))
    t.add(Event(kind="x", experiment="e", arm=0, reward=0, trials=1, ts=H + 60, issued=H + 60))  # an older token
    t.add(Event(kind="hx", experiment="e", arm=0, reward=0, trials=1, ts=H, label="rollout", segment=segment))
    found = expand(t.segments)
    assert found[("e", "device", "mobile", 1, DAY)] == [1, 1, 1.0, 1.0]  # the conversion in its exposure's day
    assert found[("e", "visitor", "new", 1, DAY)] == [1, 1, 1.0, 1.0]
    assert found[("e", "country", "", 0, DAY)] == [1, 0, 0.0, 0.0]  # no segment: unset everywhere
    assert len(found) == 12
