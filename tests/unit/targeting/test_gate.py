"""gate evaluation: enabled, schedule, first-match rules, rollout, default arm, and the reasons it gives."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from app.targeting import Gate, Schedule, build_gate, compile_rules

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC).timestamp()


def rule(rule_id: str, attribute: str, operator: str, value: Any, action: str = "serve", arm: int | None = 1) -> dict:
    return {
        "id": rule_id,
        "action": action,
        "arm": arm if action == "serve" else None,
        "condition": {"attribute": attribute, "operator": operator, "value": value},
    }


def gate(rules: list[dict] | None = None, **fields: Any) -> Gate:
    values = {"enabled": True, "rollout_percent": 100.0, "salt": "rollout:exp:s", "default_arm": 0}
    values.update(fields)
    return Gate(rules=compile_rules(rules or [], n_arms=3), **values)


def test_first_matching_rule_wins() -> None:
    g = gate([rule("de", "country", "eq", "DE", arm=2), rule("mobile", "device", "eq", "mobile", arm=1)])
    assert g.evaluate("v", {"country": "DE", "device": "mobile"}, NOW, 0).reason == "rule:de"
    assert g.evaluate("v", {"country": "DE", "device": "mobile"}, NOW, 0).arm == 2
    outcome = g.evaluate("v", {"country": "FR", "device": "mobile"}, NOW, 0)
    assert (outcome.arm, outcome.reason) == (1, "rule:mobile")
    assert g.evaluate("v", {"country": "FR"}, NOW, 0).reason == "policy"


def test_exclude_serves_the_default_arm() -> None:
    g = gate([rule("bots", "device", "eq", "bot", action="exclude")], default_arm=2)
    outcome = g.evaluate("v", {"device": "bot"}, NOW, 0)
    assert (outcome.arm, outcome.reason) == (2, "rule:bots")


def test_a_rule_that_cannot_be_evaluated_falls_through() -> None:
    g = gate([rule("big", "cart", "gt", 100, arm=2), rule("re", "path", "regex", "^/x", arm=1)])
    for attrs in ({}, {"cart": "lots", "path": 5}, {"cart": None, "path": ["/x"]}, {"cart": {"a": 1}}):
        assert g.evaluate("v", attrs, NOW, 0).reason == "policy"


def test_disabled_or_closed_gates_serve_the_default() -> None:
    assert gate(enabled=False).evaluate("v", {}, NOW, 0).reason == "default"
    later = Schedule.build(start=datetime(2027, 1, 1, tzinfo=UTC))
    outcome = gate(schedule=later, default_arm=1).evaluate("v", {}, NOW, 0)
    assert (outcome.arm, outcome.reason) == (1, "default")
    assert gate(schedule=Schedule.build(end=datetime(2027, 1, 1, tzinfo=UTC))).evaluate("v", {}, NOW, 0).arm is None


def test_rollout_buckets_visitors_stably() -> None:
    g = gate(rollout_percent=30.0)
    reasons = [g.evaluate(f"visitor-{i}", {}, NOW, 0).reason for i in range(4000)]
    share = reasons.count("policy") / len(reasons)
    assert 0.27 < share < 0.33 and set(reasons) == {"policy", "rollout"}
    again = [g.evaluate(f"visitor-{i}", {}, NOW, 0).reason for i in range(4000)]
    assert again == reasons
    # anonymous visitors use the random position they are given
    assert g.evaluate("", {}, NOW, 10.0).reason == "policy" and g.evaluate("", {}, NOW, 90.0).reason == "rollout"


def test_rules_apply_before_rollout() -> None:
    g = gate([rule("qa", "qa", "exists", True, arm=2)], rollout_percent=0.0)
    assert g.evaluate("v", {"qa": "1"}, NOW, 0).reason == "rule:qa"
    assert g.evaluate("v", {}, NOW, 0).reason == "rollout"


def test_build_gate_from_published_config() -> None:
    config = {
        "enabled": True,
        "rollout_percent": 50.0,
        "salt": "abc",
        "default_arm": 9,  # no such arm any more: the control
        "rules": [rule("a", "country", "eq", "DE", arm=5), rule("b", "country", "eq", "DE", arm=1)],
        "schedule": {
            "timezone": "Europe/Berlin",
            "start": None,
            "end": None,
            "days": [],
            "hours_from": "09:00",
            "hours_to": "17:00",
        },
    }
    built = build_gate(config, "exp-1", n_arms=2, control_index=1)
    assert built.default_arm == 1
    assert [r.id for r in built.rules] == ["b"]  # arm 5 no longer exists: that rule can't match
    assert built.salt == "rollout:exp-1:abc"
    assert built.schedule is not None and built.schedule.is_open(datetime(2026, 6, 1, 10, 0, tzinfo=UTC))
