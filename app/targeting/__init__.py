"""targeting: rule conditions, schedules, salted bucketing and gate evaluation. pure: no i/o."""

from app.targeting.bucketing import bucket, in_percent
from app.targeting.conditions import OPERATORS, ConditionError, compile_condition, parse_semver
from app.targeting.gate import POLICY, Gate, Outcome, Rule, RuleError, build_gate, compile_rules
from app.targeting.schedule import Schedule

__all__ = [
    "OPERATORS",
    "POLICY",
    "ConditionError",
    "Gate",
    "Outcome",
    "Rule",
    "RuleError",
    "Schedule",
    "bucket",
    "build_gate",
    "compile_condition",
    "compile_rules",
    "in_percent",
    "parse_semver",
]
