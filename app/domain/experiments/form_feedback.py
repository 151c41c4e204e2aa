"""what the experiment form says back: each error named by its field, and the field that takes focus next."""

from __future__ import annotations

import re
from typing import Any

from app.domain.experiments.forms import arm_count

# the form's own words for its fields (its labels, shortened): an error read on its own still says where it is
LABELS = {
    "name": "Name",
    "key": "Key",
    "site_id": "Site",
    "arms": "Arms",
    "control_index": "Control arm",
    "goal_type": "What counts as a conversion",
    "goal_selector": "Element to click",
    "goal_url": "Page reached",
    "goal_event": "Event name",
    "reward_mode": "Reward",
    "strategy": "How visitors are shared",
    "protocol": "Policy",
    "allocation": "How visitors are shared",
    "traffic_percent": "Visitors in the experiment",
    "exploration_floor": "Exploration floor",
    "weights": "Fixed split",
    "reward_max": "Largest reward",
    "prob_best": "Probability to be best",
    "max_expected_loss": "Acceptable expected loss",
    "min_trials_per_arm": "Visitors per arm before any verdict",
    "practical_difference": "Smallest difference that matters",
    "guardrails": "Guardrails",
}
ARM_LABELS = {
    "name": "name",
    "text": "text shown",
    "html": "HTML",
    "redirect": "redirect URL",
    "class": "CSS class",
    "style": "style",
    "attributes": "attributes",
}
GUARDRAIL_LABELS = {"goal": "goal name", "better": "better when", "tolerance": "tolerance"}
_ROW = re.compile(r"^(arm|guardrail)-(\d+)-(\w+)$")
# errors the form shows above a group rather than on one field: where the summary's link goes
ANCHORS = {"arms": "arms-heading", "control_index": "arms-heading", "protocol": "strategy", "allocation": "strategy"}


def label_of(field: str) -> str:
    row = _ROW.match(field)
    if row:
        kind, index, part = row.groups()
        labels = ARM_LABELS if kind == "arm" else GUARDRAIL_LABELS
        return f"{kind.capitalize()} {int(index) + 1} {labels.get(part, part)}"
    return LABELS.get(field, field.replace("_", " ").capitalize())


def name_errors(errors: dict[str, str]) -> dict[str, str]:
    """each message led by its field's label, so the summary and a screen reader say which field is wrong."""
    named = {}
    for field, message in errors.items():
        label = label_of(field)
        named[field] = message if message.startswith(f"{label}:") else f"{label}: {message}"
    return named


def focus_after(data: dict[str, Any], values: dict[str, Any]) -> str:
    """after adding an arm, its name field; after removing one, the name of the arm now in its place."""
    count = arm_count(values)
    if "add_arm" in data:
        return f"arm-{count - 1}-name"
    removed = str(data.get("remove_arm", ""))
    if removed.isdigit():
        return f"arm-{min(int(removed), count - 1)}-name"
    return ""
