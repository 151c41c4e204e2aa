"""visual-editor targets: which selectors may go into the anti-flicker stylesheet, and the stylesheet itself."""

from __future__ import annotations

import pytest

from app.domain.tag.targets import FAILSAFE_CSS, hide_css, selector_problem, target_of
from app.runtime.records import ArmConfig


@pytest.mark.parametrize(
    "selector",
    [
        "#hero",
        "section.pricing:nth-of-type(1) > h2.promo-title",
        'a[href="/pricing"]',
        "button[aria-label='Close (x)']",
        "#\\31 23",  # css.escape of an id starting with a digit
        "ul > li:not(.old) + li",
    ],
)
def test_real_selectors_pass(selector: str) -> None:
    assert selector_problem(selector) is None


@pytest.mark.parametrize(
    "selector",
    [
        "",
        "   ",
        "a{color:red}",
        "a}body{display:none",
        "a;b",
        "@import url(x)",
        "a /* comment",
        "a */",
        'a[title="open]',
        ":is(a",
        "a)",
        "a[x",
        "a\\",
        "a\nb",
        "<script>",
        "x" * 301,
    ],
)
def test_selectors_that_could_break_the_stylesheet_are_refused(selector: str) -> None:
    assert selector_problem(selector) is not None


def test_hide_css_keeps_the_failsafe_first_and_one_rule_per_target() -> None:
    css = hide_css({"a": "#hero", "b": ".price > b"})
    lines = css.splitlines()
    assert lines[0] == FAILSAFE_CSS
    assert lines[1:] == [
        ":where(#hero){visibility:hidden;animation:levers-failsafe 0s 2s forwards}",
        ":where(.price > b){visibility:hidden;animation:levers-failsafe 0s 2s forwards}",
    ]


def test_target_of_takes_the_first_valid_target() -> None:
    arms = [ArmConfig(0, "A", payload={"target": "a{"}), ArmConfig(1, "B", payload={"target": "#ok"})]
    assert target_of(arms) == "#ok"
    assert target_of([ArmConfig(0, "A"), ArmConfig(1, "B", payload={"text": "x"})]) is None
