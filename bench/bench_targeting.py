"""what a gate costs on the select hot path: evaluate() with ten rules, a schedule and a rollout.

run: uv run python bench/bench_targeting.py
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

from app.targeting import Gate, Schedule, bucket, compile_rules


def rule(i: int, attribute: str, operator: str, value: object) -> dict[str, object]:
    return {
        "id": f"r{i}",
        "action": "serve",
        "arm": 1,
        "condition": {"attribute": attribute, "operator": operator, "value": value},
    }


def main() -> None:
    rules = compile_rules(
        [
            rule(0, "country", "in", ["AT", "CH", "LI"]),
            rule(1, "utm_source", "eq", "newsletter"),
            rule(2, "path", "starts_with", "/checkout"),
            rule(3, "url", "regex", r"[?&]promo=(spring|summer)\d{2}"),
            rule(4, "app_version", "semver_lt", "2.0.0"),
            rule(5, "cart_value", "gt", 250),
            rule(6, "device", "eq", "tablet"),
            rule(7, "referrer", "contains", "partner.example"),
            rule(8, "language", "in", ["fr", "fr-ch", "fr-be"]),
            rule(9, "plan", "exists", True),
        ],
        n_arms=2,
    )
    schedule = Schedule.build(timezone="Europe/Berlin", hours_from="06:00", hours_to="23:00", days=[0, 1, 2, 3, 4])
    gate = Gate(enabled=True, rollout_percent=50.0, salt="rollout:exp:s", default_arm=0, rules=rules, schedule=schedule)
    attrs = {
        "country": "DE",
        "utm_source": "google",
        "path": "/products/42",
        "url": "https://shop.example/products/42?utm_source=google",
        "app_version": "3.1.0",
        "cart_value": "120",
        "device": "desktop",
        "referrer": "https://www.google.com/",
        "language": "de-de",
    }
    now = datetime(2026, 6, 3, 10, 0, tzinfo=UTC).timestamp()  # a wednesday, inside the hours
    n = 50_000
    for label, fn in [
        ("bucket() alone", lambda i: bucket("rollout:exp:s", f"visitor-{i}")),
        (
            "evaluate(), 10 rules none matching + schedule + rollout",
            lambda i: gate.evaluate(f"visitor-{i}", attrs, now, 0),
        ),
        ("evaluate(), first rule matching", lambda i: gate.evaluate(f"v{i}", {"country": "AT"}, now, 0)),
    ]:
        started = time.perf_counter()
        for i in range(n):
            fn(i)
        per = (time.perf_counter() - started) / n * 1e6
        print(f"{label:60s} {per:6.2f} µs per call")


if __name__ == "__main__":
    main()
