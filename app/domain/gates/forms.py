"""the dashboard's gate form: rules as lines of text, converted to and from the api's schemas.

one rule per line, first match wins:  `[id] attribute operator value -> serve ARM`  or  `... -> exclude`.
`[id]` is optional; ARM is an arm's index or name; `operator/i` ignores case; `in` takes a comma list.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any

from app.domain.gates.schemas import Condition, GateCreate, Rule, Schedule

# the value runs to the last "->", so a regex may hold one
_LINE = re.compile(
    r"^(?:\[(?P<id>[^\]]*)\]\s*)?(?P<attribute>\S+)\s+(?P<operator>[a-z_]+)(?P<icase>/i)?"
    r"(?:\s+(?P<value>.*))?\s*->\s*(?P<action>.+)$"
)
_NUMBER = re.compile(r"^-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?$")
NUMERIC = {"gt", "lt", "gte", "lte"}
SEMVER = {"semver_eq", "semver_neq", "semver_gt", "semver_gte", "semver_lt", "semver_lte"}
RAW = {"contains", "starts_with", "regex", *SEMVER}


# the form's words for its fields: an error leads with its field's name, read in the summary or on its own
LABELS = {
    "experiment_id": "Experiment",
    "name": "Name",
    "enabled": "Gate on",
    "rollout_percent": "Rollout percentage",
    "default_arm": "Default arm",
    "rules": "Targeting rules",
    "schedule": "Schedule",
}
# where the error summary's link goes: the schedule's error sits on its first field
ANCHORS = {"schedule": "timezone"}


def name_errors(errors: dict[str, str]) -> dict[str, str]:
    named = {}
    for field, message in errors.items():
        label = LABELS.get(field, field.replace("_", " ").capitalize())
        named[field] = message if message.startswith(f"{label}:") else f"{label}: {message}"
    return named


class FormError(ValueError):
    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


def _scalar(text: str) -> Any:
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] == '"':
        return text[1:-1]
    if text in {"true", "false"}:
        return text == "true"
    if _NUMBER.match(text):
        return float(text) if any(c in text for c in ".eE") else int(text)
    return text


def _value(operator: str, text: str | None) -> Any:
    text = (text or "").strip()
    if not text:
        return None
    if operator in {"in", "not_in"}:
        return [_scalar(part) for part in text.split(",") if part.strip()]
    if operator in NUMERIC:
        return _scalar(text)
    if operator == "exists":
        return _scalar(text)
    if operator in RAW:
        return text
    return _scalar(text)


def _arm(text: str, arm_names: list[str]) -> int:
    text = text.strip()
    if text.isdigit():
        return int(text)
    lowered = [name.casefold() for name in arm_names]
    if text.casefold() in lowered:
        return lowered.index(text.casefold())
    raise FormError(f"no arm named {text!r}; use an arm's name or number", "rules")


def parse_rules(text: str, arm_names: list[str]) -> tuple[list[Rule], list[int]]:
    """the rules and, for each, its line number (to point errors at the line)."""
    rules: list[Rule] = []
    lines: list[int] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        match = _LINE.match(line.strip())
        if match is None:
            raise FormError(f"line {number}: write `attribute operator value -> serve ARM` or `-> exclude`", "rules")
        action_text = match["action"].strip()
        operator = match["operator"]
        condition = Condition(
            attribute=match["attribute"],
            operator=operator,
            value=_value(operator, match["value"]),
            ignore_case=bool(match["icase"]),
        )
        if action_text == "exclude":
            rule = Rule(condition=condition, action="exclude", id=match["id"] or None)
        elif action_text.startswith("serve "):
            try:
                arm = _arm(action_text[len("serve ") :], arm_names)
            except FormError as exc:
                raise FormError(f"line {number}: {exc.message}", "rules") from exc
            rule = Rule(condition=condition, action="serve", arm=arm, id=match["id"] or None)
        else:
            raise FormError(f"line {number}: the action is `serve ARM` or `exclude`", "rules")
        rules.append(rule)
        lines.append(number)
    return rules, lines


def _show(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(_show(v) for v in value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    if isinstance(value, str) and (value in {"true", "false"} or _NUMBER.match(value)):
        return json.dumps(value)
    return str(value)


def format_rules(rules: list[dict[str, Any]], arm_names: list[str]) -> str:
    lines = []
    for rule in rules:
        condition = rule["condition"]
        operator = condition["operator"] + ("/i" if condition.get("ignore_case") else "")
        value = _show(condition.get("value"))
        if rule["action"] == "exclude":
            action = "exclude"
        else:
            arm = rule.get("arm") or 0
            action = f"serve {arm_names[arm] if arm < len(arm_names) else arm}"
        head = f"[{rule['id']}] {condition['attribute']} {operator}" + (f" {value}" if value else "")
        lines.append(f"{head} -> {action}")
    return "\n".join(lines)


def _local(text: str) -> datetime | None:
    if not text.strip():
        return None
    try:
        return datetime.fromisoformat(text.strip())
    except ValueError as exc:
        raise FormError("use a date and time such as 2026-11-27T09:00", "schedule") from exc


def parse_schedule(values: dict[str, Any]) -> Schedule | None:
    if not values.get("schedule_on"):
        return None
    days = [int(d) for d in values.get("days", []) if str(d).isdigit()]
    return Schedule(
        timezone=(values.get("timezone") or "UTC").strip(),
        start=_local(values.get("start", "")),
        end=_local(values.get("end", "")),
        days=days,
        hours_from=values.get("hours_from") or None,
        hours_to=values.get("hours_to") or None,
    )


def parse_form(values: dict[str, Any], arm_names: list[str]) -> tuple[dict[str, Any], list[int]]:
    """the fields of a GateCreate / GateUpdate (less experiment_id), and the rules' line numbers."""
    try:
        rollout = float(values.get("rollout_percent") or 100)
    except ValueError as exc:
        raise FormError("enter a number between 0 and 100", "rollout_percent") from exc
    if not 0 <= rollout <= 100:
        raise FormError("enter a number between 0 and 100", "rollout_percent")
    default = values.get("default_arm", "")
    rules, lines = parse_rules(values.get("rules", ""), arm_names)
    fields = {
        "name": (values.get("name") or "").strip()[:200],
        "enabled": bool(values.get("enabled")),
        "rollout_percent": rollout,
        "default_arm": int(default) if str(default).isdigit() else None,
        "schedule": parse_schedule(values),
        "rules": rules,
    }
    return fields, lines


def form_values(gate: Any, arm_names: list[str]) -> dict[str, Any]:
    schedule = gate.schedule or {}

    def local(text: str | None) -> str:
        return datetime.fromisoformat(text).strftime("%Y-%m-%dT%H:%M") if text else ""

    return {
        "experiment_id": str(gate.experiment_id),
        "name": gate.name,
        "enabled": gate.enabled,
        "rollout_percent": f"{gate.rollout_percent:g}",
        "default_arm": "" if gate.default_arm is None else str(gate.default_arm),
        "schedule_on": bool(gate.schedule),
        "timezone": schedule.get("timezone", "UTC"),
        "start": local(schedule.get("start")),
        "end": local(schedule.get("end")),
        "days": [str(d) for d in schedule.get("days", [])],
        "hours_from": schedule.get("hours_from") or "",
        "hours_to": schedule.get("hours_to") or "",
        "rules": format_rules(gate.rules or [], arm_names),
    }


__all__ = [
    "ANCHORS",
    "FormError",
    "GateCreate",
    "form_values",
    "format_rules",
    "name_errors",
    "parse_form",
    "parse_rules",
]
