"""targeting conditions: compiled once when a gate is saved or loaded, evaluated on the hot path.

a condition that cannot be evaluated (missing attribute, wrong type, unparseable version) is a non-match,
never an error: `compile_condition` returns a predicate that swallows nothing because it raises nothing.

regex uses google's re2 (linear time, no backtracking): a pattern can't be made catastrophic, so no timeout
is needed. patterns are capped at MAX_PATTERN characters, re2's program memory at 1 MiB, and subjects are cut
to MAX_SUBJECT characters before matching.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Any

import re2

Predicate = Callable[[Mapping[str, Any]], bool]

MAX_PATTERN = 256
MAX_SUBJECT = 4096
MAX_LIST = 1000
MAX_STRING = 2048

STRING_OPERATORS = {"contains", "starts_with", "regex"}
NUMBER_OPERATORS = {"gt", "lt", "gte", "lte"}
SEMVER_OPERATORS = {"semver_eq", "semver_neq", "semver_gt", "semver_gte", "semver_lt", "semver_lte"}
LIST_OPERATORS = {"in", "not_in"}
OPERATORS = frozenset({"eq", "neq", "exists", *STRING_OPERATORS, *NUMBER_OPERATORS, *SEMVER_OPERATORS, *LIST_OPERATORS})

_ATTRIBUTE = re.compile(r"^[A-Za-z_][A-Za-z0-9_.:-]{0,63}$")
_SEMVER = re.compile(
    r"^v?(0|[1-9]\d*)(?:\.(0|[1-9]\d*))?(?:\.(0|[1-9]\d*))?"
    r"(?:-([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?(?:\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?$"
)


class ConditionError(ValueError):
    """a condition definition is invalid; `field` names the part, relative to the condition."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _scalar(value: Any) -> bool:
    return isinstance(value, str | bool) or _is_number(value)


def as_number(value: Any) -> float | None:
    """numbers, and strings holding a finite number (what a tag sends); anything else is None."""
    if _is_number(value):
        return float(value)
    if isinstance(value, str) and len(value) <= 64:
        try:
            number = float(value.strip())
        except ValueError:
            return None
        return number if math.isfinite(number) else None
    return None


SemVer = tuple[int, int, int, tuple[tuple[int, int | str], ...] | None]


def parse_semver(text: Any) -> SemVer | None:
    """major.minor.patch[-pre][+build], with a leading "v" and missing minor/patch allowed (1.2 is 1.2.0)."""
    if not isinstance(text, str) or len(text) > 128:
        return None
    return _parse_semver(text)


@lru_cache(maxsize=4096)
def _parse_semver(text: str) -> SemVer | None:
    # visitors send few distinct versions: parse each once
    match = _SEMVER.match(text.strip())
    if match is None:
        return None
    major, minor, patch, pre = match.groups()
    identifiers = None
    if pre is not None:
        # numeric identifiers sort before alphanumeric ones (semver 2.0 §11)
        identifiers = tuple((0, int(p)) if p.isdigit() else (1, p) for p in pre.split("."))
    return int(major), int(minor or 0), int(patch or 0), identifiers


def semver_key(version: SemVer) -> tuple[Any, ...]:
    major, minor, patch, pre = version
    # a release sorts after every pre-release of the same version
    return (major, minor, patch, (1,) if pre is None else (0, pre))


def _fold(value: Any, ignore_case: bool) -> Any:
    return value.casefold() if ignore_case and isinstance(value, str) else value


def _same(left: Any, right: Any) -> bool:
    # 1 == 1.0, but True is not 1 and "1" is not 1
    if isinstance(left, bool) or isinstance(right, bool):
        return isinstance(left, bool) and isinstance(right, bool) and left == right
    if _is_number(left) and _is_number(right):
        return float(left) == float(right)
    return type(left) is type(right) and left == right


def _present(value: Any) -> bool:
    return value is not None and value != ""


def _compile_regex(pattern: str, ignore_case: bool) -> Any:
    options = re2.Options()
    options.log_errors = False
    options.max_mem = 1 << 20
    options.case_sensitive = not ignore_case
    try:
        return re2.compile(pattern, options)
    except re2.error as exc:
        detail = exc.args[0].decode() if exc.args and isinstance(exc.args[0], bytes) else str(exc)
        raise ConditionError(f"invalid regex: {detail}", "value") from exc


def compile_condition(attribute: object, operator: object, value: Any = None, ignore_case: bool = False) -> Predicate:
    """checks a condition definition and returns its predicate over an attribute mapping."""
    if not isinstance(attribute, str) or not _ATTRIBUTE.match(attribute):
        raise ConditionError("attribute must be a name of letters, digits, _ . : - (at most 64)", "attribute")
    if not isinstance(operator, str) or operator not in OPERATORS:
        raise ConditionError(f"unknown operator {operator!r}; one of {', '.join(sorted(OPERATORS))}", "operator")
    if operator == "exists":
        return _exists(attribute, value)
    if operator in {"eq", "neq"}:
        return _equality(attribute, operator, value, ignore_case)
    if operator in LIST_OPERATORS:
        return _membership(attribute, operator, value, ignore_case)
    if operator in STRING_OPERATORS:
        return _text_match(attribute, operator, value, ignore_case)
    if operator in NUMBER_OPERATORS:
        return _numeric(attribute, operator, value)
    return _versioned(attribute, operator, value)


def _exists(name: str, value: Any) -> Predicate:
    if value is None:
        value = True
    if not isinstance(value, bool):
        raise ConditionError("exists takes true or false (or nothing, meaning true)", "value")
    wanted = value
    return lambda attrs: _present(attrs.get(name)) is wanted


def _equality(name: str, operator: str, value: Any, ignore_case: bool) -> Predicate:
    if not _scalar(value) or (isinstance(value, str) and len(value) > MAX_STRING):
        raise ConditionError(f"{operator} takes a string, number or boolean", "value")
    target = _fold(value, ignore_case)
    negate = operator == "neq"

    def equal(attrs: Mapping[str, Any]) -> bool:
        actual = attrs.get(name)
        if not _scalar(actual):
            return False  # missing or not comparable: the rule can't be evaluated
        return _same(_fold(actual, ignore_case), target) is not negate

    return equal


def _membership(name: str, operator: str, value: Any, ignore_case: bool) -> Predicate:
    if not isinstance(value, list) or not value or len(value) > MAX_LIST:
        raise ConditionError(f"{operator} takes a list of 1 to {MAX_LIST} values", "value")
    for position, item in enumerate(value):
        if not _scalar(item) or isinstance(item, bool):
            raise ConditionError(f"{operator} values are strings or numbers", f"value[{position}]")
    strings = frozenset(_fold(v, ignore_case) for v in value if isinstance(v, str))
    numbers = frozenset(float(v) for v in value if _is_number(v))
    negate = operator == "not_in"

    def member(attrs: Mapping[str, Any]) -> bool:
        actual = attrs.get(name)
        if isinstance(actual, str):
            found = _fold(actual, ignore_case) in strings
        elif isinstance(actual, int | float) and _is_number(actual):
            found = float(actual) in numbers
        else:
            return False
        return found is not negate

    return member


def _text_match(name: str, operator: str, value: Any, ignore_case: bool) -> Predicate:
    if not isinstance(value, str) or not value:
        raise ConditionError(f"{operator} takes a non-empty string", "value")
    limit = MAX_PATTERN if operator == "regex" else MAX_STRING
    if len(value) > limit:
        raise ConditionError(f"{operator} takes at most {limit} characters", "value")
    if operator == "regex":
        compiled = _compile_regex(value, ignore_case)
        return lambda attrs: isinstance(s := attrs.get(name), str) and compiled.search(s[:MAX_SUBJECT]) is not None
    needle = _fold(value, ignore_case)
    if operator == "starts_with":
        return lambda attrs: isinstance(s := attrs.get(name), str) and _fold(s, ignore_case).startswith(needle)

    def contains(attrs: Mapping[str, Any]) -> bool:
        actual = attrs.get(name)
        if isinstance(actual, str):
            return needle in _fold(actual, ignore_case)
        if isinstance(actual, list | tuple):
            return any(isinstance(item, str) and _fold(item, ignore_case) == needle for item in actual)
        return False

    return contains


_NUMBER_COMPARISONS: dict[str, Callable[[float, float], bool]] = {
    "gt": float.__gt__,
    "lt": float.__lt__,
    "gte": float.__ge__,
    "lte": float.__le__,
}


def _numeric(name: str, operator: str, value: Any) -> Predicate:
    if not _is_number(value):
        raise ConditionError(f"{operator} takes a finite number", "value")
    bound = float(value)
    compare = _NUMBER_COMPARISONS[operator]

    def numeric(attrs: Mapping[str, Any]) -> bool:
        actual = as_number(attrs.get(name))
        return actual is not None and compare(actual, bound)

    return numeric


_VERSION_COMPARISONS: dict[str, Callable[[Any, Any], bool]] = {
    "semver_eq": lambda a, b: a == b,
    "semver_neq": lambda a, b: a != b,
    "semver_gt": lambda a, b: a > b,
    "semver_gte": lambda a, b: a >= b,
    "semver_lt": lambda a, b: a < b,
    "semver_lte": lambda a, b: a <= b,
}


def _versioned(name: str, operator: str, value: Any) -> Predicate:
    parsed = parse_semver(value)
    if parsed is None:
        raise ConditionError("semver comparisons take a version such as 1.4.0 or 2.0.0-beta.1", "value")
    reference = semver_key(parsed)
    check = _VERSION_COMPARISONS[operator]

    def versioned(attrs: Mapping[str, Any]) -> bool:
        actual = parse_semver(attrs.get(name))
        return actual is not None and check(semver_key(actual), reference)

    return versioned


def safe(predicate: Predicate) -> Predicate:
    """the hot path's guard: a predicate that fails on odd input is a non-match, not an error."""

    def guarded(attrs: Mapping[str, Any]) -> bool:
        try:
            return bool(predicate(attrs))
        except Exception:
            return False

    return guarded
