"""what segments cost: on select (narrowing the attributes, a longer token) and in the worker's tally, and how
many values a flood of distinct ones leaves. pure, no stores.

run: uv run python bench/segments.py
"""

from __future__ import annotations

import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import msgspec

from app.lib.tokens import SelectionTokens
from app.runtime.records import Event
from app.targeting.segments import MAX_VALUES, compact, segment_of
from app.worker import counting, segments


def per_call_us(fn: Callable[[], object], n: int = 100_000) -> float:
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        for _ in range(n):
            fn()
        best = min(best, (time.perf_counter() - started) / n * 1e6)
    return best


def main() -> None:
    now = time.time()
    attributes = {
        "device": "mobile", "country": "DE", "language": "de-ch", "utm_source": "Google Ads", "utm_medium": "cpc",
        "visitor_first_seen": now - 100, "url": "https://shop.example/?utm_source=Google+Ads", "path": "/",
    }  # fmt: skip
    print(f"segment_of + compact per select: {per_call_us(lambda: tuple(compact(segment_of(attributes, now)))):.2f} µs")
    tokens, segment = SelectionTokens("bench"), tuple(compact(segment_of(attributes, now)))
    claims = {"tenant": "t" * 36, "experiment": "e" * 36, "arm": 1, "visitor": "v" * 32, "propensity": 0.5}
    plain = per_call_us(lambda: tokens.issue(**claims, ttl_seconds=3600))  # type: ignore[arg-type]
    signed = per_call_us(lambda: tokens.issue(**claims, ttl_seconds=3600, segment=segment))  # type: ignore[arg-type]
    size = len(tokens.issue(**claims, ttl_seconds=3600)[0])  # type: ignore[arg-type]
    size_s = len(tokens.issue(**claims, ttl_seconds=3600, segment=segment)[0])  # type: ignore[arg-type]
    print(f"token issue: {plain:.2f} µs, {size} bytes -> with a full segment {signed:.2f} µs, {size_s} bytes")

    events = [
        Event(kind="x", experiment=f"e{i % 5}", arm=i % 3, reward=0, trials=1, ts=1.8e9 + i, issued=1.8e9 + i,
              segment=("mobile", "DE", "de", f"src{i % 20}", "cpc", "new"))
        for i in range(50_000)
    ]  # fmt: skip

    def tally_us() -> float:
        best = float("inf")
        for _ in range(3):
            t, started = counting.Tally(), time.perf_counter()
            for event in events:
                t.add(event)
            best = min(best, (time.perf_counter() - started) / len(events) * 1e6)
        return best

    with_segments = tally_us()
    plain_events = [msgspec.structs.replace(e, segment=()) for e in events]
    events[:] = plain_events
    without = tally_us()
    t = counting.Tally()
    for event in plain_events:
        t.add(event)
    started = time.perf_counter()
    segments.expand(t.segments)
    split_ms = (time.perf_counter() - started) * 1000
    print(
        f"worker tally per event: {without:.2f} µs for events of older tokens (no segment), "
        f"{with_segments:.2f} µs with one; splitting a batch of {len(events):,} into dimensions {split_ms:.1f} ms"
    )

    flood: Counter[tuple[str, str, str]] = Counter(("e", "utm_source", f"spam{i}") for i in range(1_000_000))
    started = time.perf_counter()
    mapping, admitted = segments.admit({}, flood)
    kept = {v for v in mapping.values()}
    print(
        f"a flood of 1,000,000 distinct utm_source values: {len(admitted)} kept (cap {MAX_VALUES}), "
        f"{len(kept)} distinct values stored including other, admitted in {time.perf_counter() - started:.2f} s"
    )


if __name__ == "__main__":
    main()
