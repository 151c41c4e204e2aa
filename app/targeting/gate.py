"""a feature gate in front of an experiment: enabled, schedule, ordered rules (first match wins), rollout.

`evaluate` answers either "let the policy decide" (arm None, reason "policy") or a fixed arm with the reason
the visitor got it: "rule:<id>" (a rule served an arm or excluded the visitor), "rollout" (outside the
rollout percentage) or "default" (gate disabled or outside its schedule). fixed arms never train the bandit.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from app.targeting.bucketing import bucket
from app.targeting.conditions import ConditionError, Predicate, compile_condition, safe
from app.targeting.schedule import Schedule, parse_clock, zone

ACTIONS = frozenset({"serve", "exclude"})


class RuleError(ValueError):
    """a rule definition is invalid; `field` is its path, e.g. rules[2].condition.value."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


@dataclass(frozen=True)
class Rule:
    id: str
    action: str  # serve | exclude
    arm: int | None
    matches: Predicate


@dataclass(frozen=True)
class Outcome:
    arm: int | None  # None: the policy decides
    reason: str


POLICY = Outcome(None, "policy")


@dataclass(frozen=True)
class Gate:
    enabled: bool
    rollout_percent: float
    salt: str
    default_arm: int
    rules: tuple[Rule, ...] = ()
    schedule: Schedule | None = None

    def evaluate(
        self, visitor: str, attributes: Mapping[str, Any], now: datetime | float, random_position: float
    ) -> Outcome:
        """`random_position` in [0, 100) stands in for the bucket of a visitor without an id."""
        if not self.enabled or (self.schedule is not None and not self.schedule.is_open(now)):
            return Outcome(self.default_arm, "default")
        for rule in self.rules:
            if rule.matches(attributes):
                if rule.action == "serve" and rule.arm is not None:
                    return Outcome(rule.arm, f"rule:{rule.id}")
                return Outcome(self.default_arm, f"rule:{rule.id}")
        if self.rollout_percent < 100.0:
            position = bucket(self.salt, visitor) if visitor else random_position
            if position >= self.rollout_percent:
                return Outcome(self.default_arm, "rollout")
        return POLICY


def compile_rules(rules: Sequence[Mapping[str, Any]], n_arms: int | None = None) -> tuple[Rule, ...]:
    """checks rule definitions ({id, action, arm, condition: {attribute, operator, value, ignore_case}})."""
    compiled: list[Rule] = []
    seen: set[str] = set()
    for position, rule in enumerate(rules):
        where = f"rules[{position}]"
        rule_id = rule.get("id")
        if not isinstance(rule_id, str) or not rule_id:
            raise RuleError("a rule needs an id", f"{where}.id")
        if rule_id in seen:
            raise RuleError(f"rule id {rule_id!r} is used twice", f"{where}.id")
        seen.add(rule_id)
        action = rule.get("action")
        if action not in ACTIONS:
            raise RuleError("action is serve or exclude", f"{where}.action")
        arm = rule.get("arm")
        if action == "serve":
            if not isinstance(arm, int) or isinstance(arm, bool) or arm < 0:
                raise RuleError("a serve rule names the arm index to serve", f"{where}.arm")
            if n_arms is not None and arm >= n_arms:
                raise RuleError(f"arm must be between 0 and {n_arms - 1}", f"{where}.arm")
        elif arm is not None:
            raise RuleError("an exclude rule serves the default arm; leave arm out", f"{where}.arm")
        condition = rule.get("condition")
        if not isinstance(condition, Mapping):
            raise RuleError("a rule needs a condition", f"{where}.condition")
        try:
            predicate = compile_condition(
                condition.get("attribute"),
                condition.get("operator"),
                condition.get("value"),
                bool(condition.get("ignore_case", False)),
            )
        except ConditionError as exc:
            raise RuleError(exc.message, f"{where}.condition.{exc.field}") from exc
        compiled.append(Rule(id=rule_id, action=action, arm=arm, matches=safe(predicate)))
    return tuple(compiled)


def build_gate(config: Mapping[str, Any], experiment_id: str, n_arms: int, control_index: int) -> Gate:
    """a published gate config (app.runtime.records.GateConfig as builtins) ready to evaluate.

    serve rules whose arm no longer exists (the pool shrank) can't be served: they never match.
    """
    default_arm = config.get("default_arm")
    if not isinstance(default_arm, int) or not 0 <= default_arm < n_arms:
        default_arm = control_index
    rules = tuple(r for r in compile_rules(config.get("rules") or []) if r.arm is None or r.arm < n_arms)
    schedule = None
    raw = config.get("schedule")
    if raw:
        hours_from, hours_to = raw.get("hours_from"), raw.get("hours_to")
        schedule = Schedule(
            timezone=raw.get("timezone") or "UTC",
            start=raw.get("start"),
            end=raw.get("end"),
            days=frozenset(raw.get("days") or ()),
            from_minute=parse_clock(hours_from, "hours_from") if hours_from else None,
            to_minute=parse_clock(hours_to, "hours_to") if hours_to else None,
        )
        zone(schedule.timezone)
    return Gate(
        enabled=bool(config.get("enabled", True)),
        rollout_percent=float(config.get("rollout_percent", 100.0)),
        salt=f"rollout:{experiment_id}:{config.get('salt', '')}",
        default_arm=default_arm,
        rules=rules,
        schedule=schedule,
    )
