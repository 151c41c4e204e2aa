"""the experiment page's targeting: a rule builder (attribute, operator, value pickers) over the experiment's
gate, its plain-words summary, and the live "does this url match?" test. checks use app.targeting itself,
so the builder accepts exactly what the hot path can evaluate."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models import Experiment, FeatureGate
from app.domain.gates.forms import FormError, parse_schedule
from app.domain.gates.services import normalise_schedule
from app.lib.errors import InvalidInputError
from app.targeting import ConditionError, build_gate, compile_condition
from app.targeting import Schedule as TargetSchedule

MAX_RULES = 20
ATTRIBUTES: dict[str, str] = {
    "path": "Page path",
    "url": "Page address (full URL)",
    "referrer": "Came from (referrer)",
    "utm_source": "Campaign source (utm_source)",
    "utm_medium": "Campaign medium (utm_medium)",
    "utm_campaign": "Campaign name (utm_campaign)",
    "utm_term": "Campaign term (utm_term)",
    "utm_content": "Campaign content (utm_content)",
    "device": "Device type",
    "language": "Browser language",
    "country": "Country",
    "custom": "Another attribute (name it)",
}
# suggestions for the value field (a datalist: any other value stays possible)
SUGGESTIONS: dict[str, list[str]] = {
    "device": ["mobile", "tablet", "desktop"],
    "language": ["en", "de", "fr", "es", "it", "nl"],
    "country": ["US", "GB", "DE", "FR", "NL", "CH", "AT"],
    "path": ["/", "/pricing", "/checkout"],
}
OPERATORS: dict[str, str] = {
    "eq": "is",
    "neq": "is not",
    "contains": "contains",
    "starts_with": "starts with",
    "regex": "matches the pattern",
    "in": "is one of",
    "not_in": "is none of",
    "gt": "is more than",
    "gte": "is at least",
    "lt": "is less than",
    "lte": "is at most",
    "exists": "is present",
    "missing": "is missing",
    "semver_gte": "is version at least",
    "semver_lt": "is version below",
    "semver_eq": "is version",
    "semver_neq": "is not version",
    "semver_gt": "is version above",
    "semver_lte": "is version at most",
}
NO_VALUE = {"exists", "missing"}
NUMBERS = {"gt", "gte", "lt", "lte"}
LISTS = {"in", "not_in"}
TEXT = {"contains", "starts_with", "regex", "eq", "neq", "in", "not_in"}
RULE_FIELDS = ("attribute", "custom", "operator", "value", "action", "ignore_case")


@dataclass
class Builder:
    """the builder's form: field values, the errors by field name, and the rules it makes."""

    values: dict[str, Any]
    errors: dict[str, str] = field(default_factory=dict)
    rules: list[dict[str, Any]] = field(default_factory=list)
    gate: dict[str, Any] = field(default_factory=dict)


async def gate_of(session: AsyncSession, experiment: Experiment) -> FeatureGate | None:
    found: FeatureGate | None = await session.scalar(
        select(FeatureGate).where(
            FeatureGate.experiment_id == experiment.id, FeatureGate.organization_id == experiment.organization_id
        )
    )
    return found


def rule_count(values: dict[str, Any]) -> int:
    try:
        count = int(values.get("rule_count") or 0)
    except ValueError:
        count = 0
    return max(0, min(MAX_RULES, count))


def adjust_rules(values: dict[str, Any]) -> bool:
    """the 'add a rule' and 'remove rule N' buttons; true when the form should just be shown again."""
    count = rule_count(values)
    if "add_rule" in values:
        values["rule_count"] = str(min(MAX_RULES, count + 1))
        values.setdefault(f"rule-{count}-attribute", "path")
        values.setdefault(f"rule-{count}-operator", "starts_with")
        return True
    if str(values.get("remove_rule", "")).isdigit():
        gone = int(values["remove_rule"])
        if 0 <= gone < count:
            for i in range(gone, count - 1):
                for f in RULE_FIELDS:
                    values[f"rule-{i}-{f}"] = values.get(f"rule-{i + 1}-{f}", "")
            for f in RULE_FIELDS:
                values.pop(f"rule-{count - 1}-{f}", None)
            values["rule_count"] = str(count - 1)
        return True
    return False


def values_of(gate: FeatureGate | None) -> dict[str, Any]:
    if gate is None:
        return {"rule_count": "0", "rollout_percent": "100", "timezone": "UTC", "enabled": True}
    schedule = gate.schedule or {}

    def local(text: str | None) -> str:
        return datetime.fromisoformat(text).strftime("%Y-%m-%dT%H:%M") if text else ""

    values: dict[str, Any] = {
        "rule_count": str(len(gate.rules or [])),
        "rollout_percent": f"{gate.rollout_percent:g}",
        "enabled": gate.enabled,
        "schedule_on": bool(gate.schedule),
        "timezone": schedule.get("timezone", "UTC"),
        "start": local(schedule.get("start")),
        "end": local(schedule.get("end")),
        "hours_from": schedule.get("hours_from") or "",
        "hours_to": schedule.get("hours_to") or "",
    }
    for d in schedule.get("days", []):
        values[f"day-{d}"] = "1"
    for i, rule in enumerate(gate.rules or []):
        condition = rule["condition"]
        attribute, operator, value = condition["attribute"], condition["operator"], condition.get("value")
        if operator == "exists" and value is False:
            operator, value = "missing", None
        p = f"rule-{i}-"
        known = attribute in ATTRIBUTES and attribute != "custom"
        values[p + "attribute"] = attribute if known else "custom"
        values[p + "custom"] = "" if known else attribute
        values[p + "operator"] = operator
        values[p + "value"] = _show(value)
        values[p + "ignore_case"] = "1" if condition.get("ignore_case") else ""
        values[p + "action"] = "exclude" if rule["action"] == "exclude" else f"serve-{rule.get('arm') or 0}"
    return values


def _show(value: Any) -> str:
    if value is None or isinstance(value, bool):
        return ""
    if isinstance(value, list):
        return ", ".join(_show(v) for v in value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _number(text: str) -> float | int | None:
    try:
        number = float(text)
    except ValueError:
        return None
    return int(number) if number.is_integer() and "." not in text else number


def _rule(values: dict[str, Any], i: int, n_arms: int, errors: dict[str, str]) -> dict[str, Any] | None:
    p = f"rule-{i}-"
    where = f"Rule {i + 1}"
    attribute = str(values.get(p + "attribute") or "path")
    if attribute == "custom":
        attribute = str(values.get(p + "custom") or "").strip()
        if not attribute:
            errors[p + "custom"] = f"{where}: name the attribute your page or API sends, e.g. plan."
            return None
    elif attribute not in ATTRIBUTES:
        errors[p + "attribute"] = f"{where}: choose what to look at."
        return None
    operator = str(values.get(p + "operator") or "")
    if operator not in OPERATORS:
        errors[p + "operator"] = f"{where}: choose how to compare."
        return None
    text = str(values.get(p + "value") or "").strip()
    ignore_case = bool(values.get(p + "ignore_case")) and operator in TEXT
    value: Any
    if operator in NO_VALUE:
        value = operator == "exists"
        operator = "exists"
    elif not text:
        errors[p + "value"] = f"{where}: enter the value to compare with."
        return None
    elif operator in LISTS:
        value = [part.strip() for part in text.split(",") if part.strip()]
    elif operator in NUMBERS:
        value = _number(text)
        if value is None:
            errors[p + "value"] = f"{where}: “{OPERATORS[operator]}” compares numbers; enter a number such as 3."
            return None
    else:
        value = text
    try:
        compile_condition(attribute, operator, value, ignore_case)
    except ConditionError as exc:
        errors[p + ("custom" if exc.field == "attribute" else "value")] = f"{where}: {_plain(exc, operator)}"
        return None
    action = str(values.get(p + "action") or "exclude")
    rule: dict[str, Any] = {
        "id": f"r{i + 1}",
        "condition": {"attribute": attribute, "operator": operator, "value": value, "ignore_case": ignore_case},
    }
    if action == "exclude":
        rule.update(action="exclude", arm=None)
    elif action.startswith("serve-") and action[6:].isdigit() and int(action[6:]) < n_arms:
        rule.update(action="serve", arm=int(action[6:]))
    else:
        errors[p + "action"] = f"{where}: choose what these visitors get."
        return None
    return rule


def _plain(exc: ConditionError, operator: str) -> str:
    if exc.field == "attribute":
        return "an attribute name uses letters, digits and _ . : - only (at most 64 characters)."
    if operator == "regex":
        return f"the pattern is not valid ({exc.message.removeprefix('invalid regex: ')})."
    if operator.startswith("semver"):
        return "enter a version such as 1.4.0."
    return f"this value can't be used here ({exc.message})."


def parse_builder(values: dict[str, Any], n_arms: int) -> Builder:
    """the gate fields (GateCreate less experiment_id) from the form, or errors keyed by the form's fields."""
    builder = Builder(values=values)
    errors = builder.errors
    for i in range(rule_count(values)):
        rule = _rule(values, i, n_arms, errors)
        if rule is not None:
            builder.rules.append(rule)
    try:
        rollout = float(str(values.get("rollout_percent") or "100").strip().rstrip("%"))
        if not 0 <= rollout <= 100:
            raise ValueError
    except ValueError:
        errors["rollout_percent"] = "Rollout: enter a percentage between 0 and 100."
        rollout = 100.0
    schedule = None
    try:
        schedule = parse_schedule(dict(values, days=[str(d) for d in range(7) if values.get(f"day-{d}")]))
        normalise_schedule(schedule)
    except FormError as exc:
        errors["schedule"] = f"Schedule: {exc.message}."
    except InvalidInputError as exc:
        errors["schedule"] = f"Schedule ({_SCHEDULE_PARTS.get(exc.field or '', 'times')}): {exc.message}."
    builder.gate = {
        "enabled": True,
        "rollout_percent": rollout,
        "schedule": schedule,
        "rules": builder.rules,
    }
    return builder


def describe_rule(rule: dict[str, Any], arm_names: list[str]) -> str:
    condition = rule["condition"]
    attribute, operator, value = condition["attribute"], condition["operator"], condition.get("value")
    label = ATTRIBUTES.get(attribute, f"“{attribute}”") if attribute != "custom" else attribute
    if operator == "exists":
        words = f"{label} {'is present' if value is not False else 'is missing'}"
    else:
        shown = ", ".join(f"“{_show(v)}”" for v in value) if isinstance(value, list) else f"“{_show(value)}”"
        words = f"{label} {OPERATORS.get(operator, operator)} {shown}"
    if condition.get("ignore_case"):
        words += " (any case)"
    arm = rule.get("arm")
    if rule["action"] == "serve" and arm is not None:
        then = f"always see {arm_names[arm] if arm < len(arm_names) else f'arm {arm}'}"
    else:
        then = "are left out (they see the default)"
    return f"Visitors whose {words[0].lower()}{words[1:]}: {then}."


_SCHEDULE_PARTS = {
    "schedule.timezone": "time zone",
    "schedule.start": "from",
    "schedule.end": "until",
    "schedule.hours_from": "daily from",
    "schedule.hours_to": "daily until",
    "schedule.days": "days",
}
DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def describe_schedule(schedule: dict[str, Any] | None) -> str:
    if not schedule:
        return "Always on: no schedule."
    parts = []
    if schedule.get("start"):
        parts.append(f"from {schedule['start'][:16].replace('T', ' ')}")
    if schedule.get("end"):
        parts.append(f"until {schedule['end'][:16].replace('T', ' ')}")
    days = schedule.get("days") or []
    if days:
        parts.append("on " + ", ".join(DAY_NAMES[d] for d in days if 0 <= d < 7))
    if schedule.get("hours_from") or schedule.get("hours_to"):
        parts.append(f"between {schedule.get('hours_from') or '00:00'} and {schedule.get('hours_to') or '24:00'}")
    return "Runs " + (" ".join(parts) or "always") + f" ({schedule.get('timezone') or 'UTC'} time)."


def url_attributes(url: str, device: str, language: str, country: str) -> dict[str, Any]:
    """what the tag would send for a page at ``url`` (see app.domain.tag.services.visitor_attributes)."""
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    attributes: dict[str, Any] = {
        "url": url,
        "path": parts.path or "/",
        "referrer": "",
        "device": device or "desktop",
        **{name: query.get(name, [""])[0] for name in ATTRIBUTES if name.startswith("utm_")},
    }
    if language:
        attributes["language"] = language.lower()
    if country:
        attributes["country"] = country.upper()
    return attributes


@dataclass(frozen=True)
class TestResult:
    url: str
    matched: str | None  # the rule's plain words, none when no rule matched
    outcome: str
    in_experiment: bool


def test_url(
    builder: Builder, experiment: Experiment, url: str, device: str, language: str, country: str
) -> TestResult:
    """what the (unsaved) rules do for a visitor on ``url``; the schedule is checked at this moment."""
    names = [a.name for a in experiment.pool.arms]
    config = dict(builder.gate, salt="", default_arm=None, schedule=None)
    gate = build_gate(config, str(experiment.id), len(names), experiment.control_index)
    attributes = url_attributes(url, device, language, country)
    default = names[min(experiment.control_index, len(names) - 1)]
    for compiled, rule in zip(gate.rules, builder.rules, strict=True):
        if compiled.matches(attributes):
            arm = rule.get("arm")
            shown = names[arm] if rule["action"] == "serve" and arm is not None else default
            return TestResult(url, describe_rule(rule, names), f"This visitor always sees {shown}.", False)
    schedule = builder.gate.get("schedule")
    if schedule is not None:
        window = TargetSchedule.build(
            timezone=schedule.timezone,
            start=schedule.start,
            end=schedule.end,
            days=list(schedule.days),
            hours_from=schedule.hours_from,
            hours_to=schedule.hours_to,
        )
        if not window.is_open(datetime.now(UTC)):
            return TestResult(url, None, f"No rule matches, but the schedule is closed now: {default} is shown.", False)
    rollout = float(builder.gate.get("rollout_percent", 100.0))
    share = "" if rollout >= 100 else f" ({rollout:g}% of such visitors; the rest see {default})"
    return TestResult(url, None, f"No rule matches: this visitor is in the experiment{share}.", True)


@dataclass(frozen=True)
class Summary:
    rules: list[str]
    schedule: str
    rollout: str
    enabled: bool


def summary(experiment: Experiment, gate: FeatureGate | None) -> Summary:
    """the experiment page's plain-words account of who sees the experiment, when, and how many."""
    names = [a.name for a in experiment.pool.arms]
    default = names[min(experiment.control_index, len(names) - 1)]
    if gate is not None and gate.default_arm is not None and gate.default_arm < len(names):
        default = names[gate.default_arm]
    share = f"{experiment.traffic_percent:g}% of visitors take part" if experiment.traffic_percent < 100 else ""
    rollout = share or "Every visitor takes part"
    if gate is not None and gate.rollout_percent < 100:
        rollout += f"; of those no rule catches, {gate.rollout_percent:g}% get the experiment"
        rollout += f" and the rest see {default}"
    return Summary(
        rules=[describe_rule(r, names) for r in (gate.rules or [])] if gate is not None else [],
        schedule=describe_schedule(gate.schedule if gate is not None else None),
        rollout=rollout + ".",
        enabled=gate is None or gate.enabled,
    )
