"""the experiment and gate forms name each error's field, and say which field takes focus after an arm change."""

from __future__ import annotations

import pytest

from app.domain.experiments import form_feedback
from app.domain.gates import forms as gate_forms


@pytest.mark.parametrize(
    ("field", "label"),
    [
        ("traffic_percent", "Visitors in the experiment"),
        ("arm-0-name", "Arm 1 name"),
        ("arm-11-redirect", "Arm 12 redirect URL"),
        ("guardrail-2-tolerance", "Guardrail 3 tolerance"),
        ("guardrail-0-better", "Guardrail 1 better when"),
        ("pool_id", "Pool id"),  # a field the form has no label for (a service error) still reads as words
    ],
)
def test_each_field_has_the_forms_words(field: str, label: str) -> None:
    assert form_feedback.label_of(field) == label


def test_errors_lead_with_their_field_once() -> None:
    named = form_feedback.name_errors(
        {"prob_best": "Enter a percentage above 50 and at most 100.", "key": "Key: taken"}
    )
    assert named == {
        "prob_best": "Probability to be best: Enter a percentage above 50 and at most 100.",
        "key": "Key: taken",
    }
    gate = gate_forms.name_errors({"rollout_percent": "enter a number between 0 and 100", "timezone_x": "bad"})
    assert gate == {
        "rollout_percent": "Rollout percentage: enter a number between 0 and 100",
        "timezone_x": "Timezone x: bad",
    }


@pytest.mark.parametrize(
    ("data", "count", "focus"),
    [
        ({"add_arm": "1"}, "3", "arm-2-name"),
        ({"remove_arm": "0"}, "2", "arm-0-name"),
        ({"remove_arm": "2"}, "2", "arm-1-name"),  # the last arm went: the one before it
        ({"remove_arm": "x"}, "2", ""),
        ({}, "2", ""),
    ],
)
def test_focus_after_an_arm_change(data: dict[str, str], count: str, focus: str) -> None:
    assert form_feedback.focus_after(data, {"arm_count": count}) == focus
