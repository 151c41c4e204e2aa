"""the create/edit experiment form: parse its flat fields into api schemas, and map errors back to fields."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from app.bandits import describe_policies
from app.db.models import Experiment
from app.domain.pools.schemas import ArmIn
from app.runtime.records import DEFAULT_REWARD_MAX

MAX_ARMS = 20
# the policy a new conversion experiment gets (see app.domain.experiments.services.default_protocol)
RECOMMENDED_POLICY = "stratified_ts"
ARM_FIELDS = ("name", "text", "html", "redirect", "class", "style", "attributes")
GOALS = {"click": "selector", "url": "url", "event": "event"}
# guardrail rows the form shows (the api takes up to 10)
GUARDRAIL_ROWS = 3
GUARDRAIL_FIELDS = ("goal", "better", "tolerance")
ATTRIBUTE_NAME = re.compile(r"^[A-Za-z_:][-A-Za-z0-9_:.]*$")
STYLE_PROPERTY = re.compile(r"^-{0,2}[A-Za-z][-A-Za-z0-9]*$")


# the policy choice in a marketer's words; the technical policies stay under "advanced"
STRATEGIES: dict[str, tuple[str, str]] = {
    "maximise": (
        "Maximise conversions (recommended)",
        "Sends more visitors to what converts as the evidence grows, and is not fooled when conversion rates"
        " swing between weekdays and weekends.",
    ),
    "explore": (
        "Explore evenly first",
        "Every arm gets an equal share at first; traffic moves to the best only as visitors add up (half of it"
        " after about 1,000 visitors). For a fair look at every arm before the bandit leans.",
    ),
    "fixed": (
        "Fixed split (classic A/B)",
        "Each arm keeps the share you set, the same visitor always sees the same arm, and nothing is learned.",
    ),
    "advanced": ("Choose a policy myself", "One of the technical policies listed under “Advanced”."),
}
# epsilon-greedy that starts fully even and decays as 1 / (1 + t / 1000): "explore evenly first"
EXPLORE_PARAMS: dict[str, Any] = {"epsilon": 1.0, "decay": "inverse", "decay_scale": 1000}


def default_policy(reward_mode: str) -> str:
    # the same as app.domain.experiments.services.default_protocol
    return RECOMMENDED_POLICY if reward_mode == "conversion" else "beta_ts"


def strategy_of(protocol: str, params: dict[str, Any], allocation: str, reward_mode: str) -> str:
    if allocation == "fixed":
        return "fixed"
    if protocol == "epsilon_greedy" and all(params.get(k) == v for k, v in EXPLORE_PARAMS.items()):
        return "explore"
    if protocol == default_policy(reward_mode):
        return "maximise"
    return "advanced"


@dataclass
class ParsedForm:
    values: dict[str, Any]
    errors: dict[str, str] = field(default_factory=dict)
    arms: list[ArmIn] = field(default_factory=list)
    body: dict[str, Any] = field(default_factory=dict)


def policy_choices() -> list[dict[str, Any]]:
    # contextual policies need a context vector per visitor, which only the api sends
    return [p for p in describe_policies() if p["kind"] != "contextual"]


def arm_count(values: dict[str, Any]) -> int:
    try:
        count = int(values.get("arm_count") or 2)
    except ValueError:
        count = 2
    return max(1, min(MAX_ARMS, count))


def blank_values() -> dict[str, Any]:
    return {
        "protocol": RECOMMENDED_POLICY,
        "reward_mode": "conversion",
        "traffic_percent": "100",
        "exploration_floor": "5",
        "reward_max": "10000",
        "arm_count": "2",
        "control_index": "0",
        "arm-0-name": "Control",
        "goal_type": "event",
        "prob_best": "95",
        "max_expected_loss": "0.5",
        "min_trials_per_arm": "100",
        "practical_difference": "2",
        "allocation": "bandit",
        "guardrails_form": "1",
        "strategy": "maximise",
    }


def values_of(experiment: Experiment) -> dict[str, Any]:
    """the form's fields for an existing experiment."""
    goal = experiment.goal or {}
    values: dict[str, Any] = {
        "name": experiment.name,
        "key": experiment.key,
        "site_id": str(experiment.site_id or ""),
        "protocol": experiment.protocol,
        "reward_mode": experiment.reward_mode.value,
        "traffic_percent": f"{experiment.traffic_percent:g}",
        "exploration_floor": f"{experiment.exploration_floor * 100:g}",
        "reward_max": f"{experiment.reward_max or DEFAULT_REWARD_MAX:g}",
        "arm_count": str(len(experiment.pool.arms)),
        "control_index": str(experiment.control_index),
        "goal_type": goal.get("type", "event"),
        "prob_best": f"{experiment.decision_prob_best * 100:g}",
        "max_expected_loss": f"{experiment.decision_max_expected_loss * 100:g}",
        "min_trials_per_arm": str(experiment.decision_min_trials_per_arm),
        "practical_difference": f"{experiment.decision_practical_difference * 100:g}",
        "allocation": experiment.allocation,
        "weights": ", ".join(f"{w * 100:g}" for w in experiment.weights or []),
        "strategy": strategy_of(
            experiment.protocol, experiment.protocol_params or {}, experiment.allocation, experiment.reward_mode.value
        ),
    }
    for kind, key in GOALS.items():
        if goal.get("type") == kind:
            values[f"goal_{key}"] = goal.get(key, "")
    values["guardrails_form"] = "1"
    for i, guardrail in enumerate((experiment.guardrails or [])[:GUARDRAIL_ROWS]):
        values[f"guardrail-{i}-goal"] = guardrail.get("goal", "")
        values[f"guardrail-{i}-better"] = guardrail.get("better", "higher")
        values[f"guardrail-{i}-tolerance"] = f"{float(guardrail.get('tolerance', 0.05)) * 100:g}"
    if experiment.auto_ship:
        values["auto_ship"] = "on"
    if experiment.auto_drop:
        values["auto_drop"] = "on"
    for arm in experiment.pool.arms:
        p = arm.payload or {}
        prefix = f"arm-{arm.index}-"
        values[prefix + "name"] = arm.name
        for key in ("text", "html", "redirect", "class"):
            values[prefix + key] = p.get(key, "")
        values[prefix + "style"] = "\n".join(f"{k}: {v}" for k, v in (p.get("style") or {}).items())
        values[prefix + "attributes"] = "\n".join(f"{k}={v}" for k, v in (p.get("attributes") or {}).items())
    return values


def adjust_arms(values: dict[str, Any]) -> bool:
    """handles the 'add arm' and 'remove arm' buttons; true when the form should just be shown again."""
    count = arm_count(values)
    if "add_arm" in values:
        values["arm_count"] = str(min(MAX_ARMS, count + 1))
        return True
    if values.get("remove_arm", "").isdigit():
        gone = int(values["remove_arm"])
        if 0 <= gone < count and count > 2:
            for i in range(gone, count - 1):
                for f in ARM_FIELDS:
                    values[f"arm-{i}-{f}"] = values.get(f"arm-{i + 1}-{f}", "")
            for f in ARM_FIELDS:
                values.pop(f"arm-{count - 1}-{f}", None)
            values["arm_count"] = str(count - 1)
            control = int(values.get("control_index") or 0)
            values["control_index"] = str(0 if control == gone else control - (control > gone))
        return True
    return False


def _pairs(
    text: str, separator: str, field_name: str, errors: dict[str, str], pattern: re.Pattern[str]
) -> dict[str, str]:
    out: dict[str, str] = {}
    for line in text.splitlines():
        if not line.strip():
            continue
        name, sep, value = line.partition(separator)
        name = name.strip()
        if not sep or not pattern.match(name):
            example = "color: #0a0" if separator == ":" else "aria-label=Buy now"
            errors[field_name] = f"Write one per line, like “{example}”."
            return {}
        if separator == "=" and name.lower().startswith("on"):
            errors[field_name] = "Event handler attributes (on…) are not allowed."
            return {}
        out[name] = value.strip()
    return out


def _number(values: dict[str, Any], name: str, errors: dict[str, str], low: float, high: float, message: str) -> float:
    try:
        number = float(str(values.get(name, "")).strip().rstrip("%"))
    except ValueError:
        errors[name] = message
        return low
    if not low <= number <= high:
        errors[name] = message
    return number


def _allocation(values: dict[str, Any], count: int, errors: dict[str, str]) -> tuple[str, list[float] | None]:
    """bandit, or a fixed split with its weights as percentages in arm order (empty: equal)."""
    allocation = "fixed" if values.get("allocation") == "fixed" else "bandit"
    text = str(values.get("weights", "")).strip()
    if allocation == "bandit" or not text:
        return allocation, None
    try:
        percents = [float(part.strip().rstrip("%")) for part in text.split(",")]
    except ValueError:
        percents = []
    if len(percents) != count or any(not 0 <= p <= 100 for p in percents) or abs(sum(percents) - 100) > 1e-6:
        errors["weights"] = f"Give {count} percentages, one per arm in order, that add up to 100 (e.g. 50, 50)."
        return allocation, None
    # the service wants fractions summing to 1 within 1e-9: rescale what rounding left over
    total = sum(percents)
    return allocation, [p / total for p in percents]


def parse_form(values: dict[str, Any], *, started: bool = False) -> ParsedForm:
    form = ParsedForm(values=values)
    errors = form.errors
    count = arm_count(values)
    seen: set[str] = set()
    form.arms = [_arm(values, i, errors, seen) for i in range(count)]
    if count < 2:
        errors["arms"] = "An experiment needs at least two arms."
    strategy = str(values.get("strategy") or "")
    if strategy and strategy not in STRATEGIES:
        errors["strategy"] = "Choose how visitors are shared between the arms."
    elif strategy:
        values["allocation"] = "fixed" if strategy == "fixed" else "bandit"
    allocation, weights = _allocation(values, count, errors)
    form.body = {
        "allocation": allocation,
        "name": _name(values, errors),
        "site_id": values.get("site_id") or None,
        "traffic_percent": _number(values, "traffic_percent", errors, 0, 100, "Enter a number between 0 and 100."),
        "control_index": _control(values, count, errors),
        "goal": _goal(values, errors),
        "decision": _decision(values, errors),
    }
    if weights is not None:
        form.body["weights"] = weights
    form.body["reward_max"] = _number(
        {"reward_max": values.get("reward_max") or f"{DEFAULT_REWARD_MAX:g}"},
        "reward_max",
        errors,
        1e-9,
        1e9,
        "Enter a number above 0 and at most 1000000000.",
    )
    floor = _floor(values, errors)
    if floor is not None:
        form.body["exploration_floor"] = floor
    if "guardrails_form" in values:
        form.body["guardrails"] = _guardrails(values, form.body["goal"], errors)
        form.body["auto_ship"] = values.get("auto_ship") == "on"
        form.body["auto_drop"] = values.get("auto_drop") == "on"
    if not started:
        reward_mode = values.get("reward_mode") or "conversion"
        form.body["reward_mode"] = reward_mode
        form.body["protocol"] = values.get("protocol") or RECOMMENDED_POLICY
        if strategy in ("maximise", "fixed"):
            form.body["protocol"], form.body["protocol_params"] = default_policy(reward_mode), {}
        elif strategy == "explore":
            form.body["protocol"], form.body["protocol_params"] = "epsilon_greedy", dict(EXPLORE_PARAMS)
    return form


def _floor(values: dict[str, Any], errors: dict[str, str]) -> float | None:
    """the exploration floor as a fraction; a form without the field (an older page, a script) leaves it as is."""
    if not str(values.get("exploration_floor", "")).strip():
        return None
    message = "Enter a percentage from 0 up to (not including) 100."
    floor = _number(values, "exploration_floor", errors, 0, 100, message)
    if floor >= 100:
        errors["exploration_floor"] = message
    return floor / 100


def _guardrails(values: dict[str, Any], goal: dict[str, Any], errors: dict[str, str]) -> list[dict[str, Any]]:
    """the filled guardrail rows; blank rows are skipped, filled ones move up so row i is guardrails[i]."""
    rows = [
        {f: str(values.get(f"guardrail-{i}-{f}", "")).strip() for f in GUARDRAIL_FIELDS} for i in range(GUARDRAIL_ROWS)
    ]
    filled = [r for r in rows if r["goal"] or r["tolerance"] not in ("", "5")]
    for i in range(GUARDRAIL_ROWS):
        row = filled[i] if i < len(filled) else {"goal": "", "better": "higher", "tolerance": "5"}
        for f in GUARDRAIL_FIELDS:
            values[f"guardrail-{i}-{f}"] = row[f]
    own = next((str(goal[key]) for key in GOALS.values() if key in goal), None)
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    for i, row in enumerate(filled):
        prefix = f"guardrail-{i}-"
        name = row["goal"]
        if not name:
            errors[prefix + "goal"] = "Name the goal this guardrail watches, or clear the row."
        elif len(name) > 200:
            errors[prefix + "goal"] = "Keep the goal name under 200 characters."
        elif name in seen or name == own:
            errors[prefix + "goal"] = "Name each guardrail goal once, and not the experiment's own goal."
        seen.add(name)
        better = row["better"] or "higher"
        if better not in ("higher", "lower"):
            errors[prefix + "better"] = "Choose whether higher or lower is better."
        tolerance = _number(
            {prefix + "tolerance": row["tolerance"] or "5"},
            prefix + "tolerance",
            errors,
            0,
            100,
            "Enter a percentage between 0 and 100.",
        )
        out.append({"goal": name[:200], "better": better, "tolerance": tolerance / 100})
    return out


def _name(values: dict[str, Any], errors: dict[str, str]) -> str:
    name = str(values.get("name", "")).strip()
    if not name:
        errors["name"] = "Give the experiment a name."
    elif len(name) > 200:
        errors["name"] = "Keep the name under 200 characters."
    return name


def _arm(values: dict[str, Any], i: int, errors: dict[str, str], seen: set[str]) -> ArmIn:
    """arm ``i``'s name and payload; a name already in ``seen`` is an error (then it is added)."""
    prefix = f"arm-{i}-"
    arm_name = str(values.get(prefix + "name", "")).strip()
    if not arm_name:
        errors[prefix + "name"] = "Give this arm a name."
    elif arm_name in seen:
        errors[prefix + "name"] = "Another arm already has this name."
    seen.add(arm_name)
    payload: dict[str, Any] = {}
    for key in ("text", "html", "class"):
        if str(values.get(prefix + key, "")).strip():
            payload[key] = str(values[prefix + key]).strip()
    redirect = str(values.get(prefix + "redirect", "")).strip()
    if redirect:
        if not re.match(r"^(https?://[^\s]+|/[^\s]*)$", redirect):
            errors[prefix + "redirect"] = "Use a full http(s):// address or a path starting with /."
        payload["redirect"] = redirect
    style = _pairs(str(values.get(prefix + "style", "")), ":", prefix + "style", errors, STYLE_PROPERTY)
    if style:
        payload["style"] = style
    attributes = _pairs(str(values.get(prefix + "attributes", "")), "=", prefix + "attributes", errors, ATTRIBUTE_NAME)
    if attributes:
        payload["attributes"] = attributes
    return ArmIn(name=arm_name[:200] or f"arm {i + 1}", payload=payload)


def _control(values: dict[str, Any], count: int, errors: dict[str, str]) -> int:
    try:
        control = int(values.get("control_index") or 0)
    except ValueError:
        control = 0
    if not 0 <= control < count:
        errors["control_index"] = "Choose which arm is the control."
        control = 0
    return control


def _decision(values: dict[str, Any], errors: dict[str, str]) -> dict[str, Any]:
    """the results page's thresholds; the form shows percentages, the api takes fractions."""
    prob_best = _number(values, "prob_best", errors, 50.01, 100, "Enter a percentage above 50 and at most 100.")
    loss = _number(values, "max_expected_loss", errors, 0, 100, "Enter a percentage between 0 and 100.")
    difference = _number(values, "practical_difference", errors, 0, 100, "Enter a percentage between 0 and 100.")
    try:
        min_trials = int(str(values.get("min_trials_per_arm", "")).strip())
        if min_trials < 0:
            raise ValueError
    except ValueError:
        errors["min_trials_per_arm"] = "Enter a whole number of visitors (0 or more)."
        min_trials = 0
    return {
        "prob_best": prob_best / 100,
        "max_expected_loss": loss / 100,
        "min_trials_per_arm": min_trials,
        "practical_difference": difference / 100,
    }


def _goal(values: dict[str, Any], errors: dict[str, str]) -> dict[str, Any]:
    goal_type = values.get("goal_type", "event")
    if goal_type not in GOALS:
        errors["goal_type"] = "Choose what counts as a conversion."
        return {}
    target = str(values.get(f"goal_{GOALS[goal_type]}", "")).strip()
    # an event goal without a name counts any levers('convert') call
    if not target and goal_type != "event":
        errors[f"goal_{GOALS[goal_type]}"] = {
            "click": "Give the CSS selector of the element to click, e.g. #checkout.",
            "url": "Give the address (or its start) that counts as a conversion, e.g. /thank-you.",
        }[goal_type]
    return {"type": goal_type, GOALS[goal_type]: target[:500]} if target else {"type": goal_type}


def field_of(api_field: str | None) -> str:
    """an api error's field (``arms[1].payload.style``, ``decision.prob_best``) as the form's field name."""
    if not api_field:
        return "name"
    match = re.match(r"arms\[(\d+)\](?:\.(\w+))?(?:\.(\w+))?", api_field)
    if match:
        index, part, sub = match.groups()
        if part == "payload" and sub in ARM_FIELDS:
            return f"arm-{index}-{sub}"
        return f"arm-{index}-name"
    if api_field.startswith("decision."):
        return api_field.split(".", 1)[1]
    if api_field.startswith("protocol_params"):
        return "protocol"
    match = re.match(r"guardrails\[(\d+)\](?:\.(\w+))?", api_field)
    if match:
        index, part = match.groups()
        return f"guardrail-{index}-{part if part in GUARDRAIL_FIELDS else 'goal'}"
    return api_field.split(".")[0].split("[")[0]
