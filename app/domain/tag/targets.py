"""page-level targets: an experiment made in the visual editor names the element it changes by a css selector
(`target` in its arms' payloads) instead of `data-levers` markup. the tag marks matching elements with
`data-levers="<key>"` so they follow the same hide, decide, apply and reveal path; the install's anti-flicker
stylesheet hides them from the first paint."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from app.lib.errors import InvalidInputError

MAX_SELECTOR = 300
# hides marked elements only, and reveals them by itself after 2 s even if the tag never runs
FAILSAFE_CSS = (
    "[data-levers]{visibility:hidden;animation:levers-failsafe 0s 2s forwards}"
    "@keyframes levers-failsafe{to{visibility:visible}}[data-levers-shown]{visibility:visible;animation:none}"
)
_HIDE_RULE = "{visibility:hidden;animation:levers-failsafe 0s 2s forwards}"
_PAIRS = {")": "(", "]": "["}


def selector_problem(selector: str) -> str | None:
    """why a selector can't be put into a stylesheet as it is, or None. blocks, at-rules, comments and
    unbalanced brackets or quotes could hide or swallow the rules after it (the failsafe among them)."""
    if not selector.strip():
        return "the selector is empty"
    if len(selector) > MAX_SELECTOR:
        return f"the selector is longer than {MAX_SELECTOR} characters"
    if any(c in selector for c in "{};@<\n\r\f\x00"):
        return "the selector may not contain { } ; @ < or line breaks"
    if "/*" in selector or "*/" in selector:
        return "the selector may not contain comments"
    stack: list[str] = []
    quote = ""
    escaped = False
    for char in selector:
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif quote:
            if char == quote:
                quote = ""
        elif char in "\"'":
            quote = char
        elif char in "([":
            stack.append(char)
        elif char in ")]" and (not stack or stack.pop() != _PAIRS[char]):
            return "the selector's brackets don't match"
    if quote or stack or escaped:
        return "the selector has an unclosed quote or bracket"
    return None


def validate_target(value: Any, field: str) -> str:
    if not isinstance(value, str):
        raise InvalidInputError("target must be a css selector (a string)", field=field)
    problem = selector_problem(value)
    if problem is not None:
        raise InvalidInputError(problem, field=field)
    return value.strip()


def target_of(arms: Any) -> str | None:
    """the experiment's target: the first arm payload that names one (the editor writes it to every arm)."""
    for arm in arms:
        target = arm.payload.get("target")
        if isinstance(target, str) and target and selector_problem(target) is None:
            return target
    return None


def targets_of(experiments: Mapping[str, Any]) -> dict[str, str]:
    """experiment key -> target selector, for the live experiments (hot cache runtimes) that have one."""
    out: dict[str, str] = {}
    for key, runtime in experiments.items():
        target = target_of(runtime.config.arms)
        if target is not None:
            out[key] = target
    return out


def hide_css(targets: Mapping[str, str]) -> str:
    """the anti-flicker stylesheet: marked elements, then each target on a line of its own (zero specificity,
    so the reveal rule always wins); one odd selector can only drop its own rule."""
    lines = [FAILSAFE_CSS] + [f":where({selector}){_HIDE_RULE}" for selector in targets.values()]
    return "\n".join(lines) + "\n"
