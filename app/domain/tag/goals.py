"""an experiment's goal: what the browser tag counts as its conversion (shapes documented in tag/README.md).

two spellings are accepted and normalised to one: the tag's (`value`) and the dashboard form's (`selector`,
`url`, `event`: app/domain/experiments/forms.py).
"""

from __future__ import annotations

import re
from typing import Any

from app.lib.errors import InvalidInputError

GOAL_TYPES = ("click", "event", "url")
URL_MATCHES = ("contains", "exact", "regex")
_TARGET = {"click": "selector", "url": "url", "event": "event"}


def validate_goal(goal: dict[str, Any], field: str = "goal") -> dict[str, Any]:
    """the normalised goal:

    {}                                                   any levers('convert') call or data-levers-goal click
    {"type": "click", "value": name}                     clicks on data-levers-goal="name"
    {"type": "click", "value": css, "selector": css}     clicks on elements matching the css selector
    {"type": "event", "value": name}                     a data layer event (or levers('convert')) named name
    {"type": "url", "value": text, "match": how}         a page view whose url matches (contains, exact, regex)
    """
    if not goal:
        return {}
    kind = goal.get("type")
    if kind not in GOAL_TYPES:
        raise InvalidInputError(f"goal type must be one of {', '.join(GOAL_TYPES)}", field=f"{field}.type")
    allowed = {"type", "value", _TARGET[kind]} | ({"match"} if kind == "url" else set())
    unknown = sorted(set(goal) - allowed)
    if unknown:
        raise InvalidInputError(f"a {kind} goal has no field {unknown[0]!r}", field=f"{field}.{unknown[0]}")
    key = _TARGET[kind] if _TARGET[kind] in goal else "value"
    value = goal.get(key)
    if value is None and kind == "event":
        return {}  # an event goal without a name counts any levers('convert') call
    if not isinstance(value, str) or not 0 < len(value.strip()) <= 500:
        raise InvalidInputError("the goal needs a text of 1 to 500 characters", field=f"{field}.{key}")
    value = value.strip()
    if kind == "click":
        return (
            {"type": "click", "value": value, "selector": value}
            if key == "selector"
            else {"type": kind, "value": value}
        )
    if kind == "event":
        return {"type": kind, "value": value}
    match = goal.get("match", "contains")
    if match not in URL_MATCHES:
        raise InvalidInputError(f"match must be one of {', '.join(URL_MATCHES)}", field=f"{field}.match")
    if match == "regex":
        try:
            re.compile(value)
        except re.error as exc:
            raise InvalidInputError(f"not a regular expression: {exc}", field=f"{field}.{key}") from exc
    return {"type": kind, "value": value, "match": match}


def goal_for_tag(goal: dict[str, Any]) -> dict[str, Any]:
    """the goal as the tag reads it; a malformed stored goal degrades to "any conversion" rather than failing."""
    try:
        return validate_goal(goal)
    except InvalidInputError:
        return {}


def goal_accepts(goal: dict[str, Any], name: str) -> bool:
    """whether a conversion reported under `name` counts for an experiment with this goal."""
    goal = goal_for_tag(goal)
    return not goal or goal["value"] == name
