"""rule conditions: a table of cases per operator, properties with hypothesis, and the non-match guarantee."""

from __future__ import annotations

import itertools
import re
import time
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.targeting import OPERATORS, ConditionError, RuleError, compile_condition, compile_rules, parse_semver
from app.targeting.conditions import MAX_PATTERN, safe

ATTRS: dict[str, Any] = {
    "country": "DE",
    "path": "/checkout/step-2",
    "url": "https://shop.example/checkout/step-2?utm_source=news",
    "utm_source": "newsletter",
    "device": "mobile",
    "language": "de-ch",
    "cart_value": 42.5,
    "visits": "7",
    "app_version": "2.10.0",
    "beta": True,
    "tags": ["vip", "returning"],
    "empty": "",
    "nothing": None,
}

TABLE = [
    # (attribute, operator, value, ignore_case, expected)
    ("country", "eq", "DE", False, True),
    ("country", "eq", "de", False, False),
    ("country", "eq", "de", True, True),
    ("country", "neq", "FR", False, True),
    ("country", "neq", "DE", False, False),
    ("missing", "neq", "FR", False, False),  # can't be evaluated: non-match, even for neq
    ("cart_value", "eq", 42.5, False, True),
    ("visits", "eq", 7, False, False),  # "7" is not 7 for eq
    ("beta", "eq", True, False, True),
    ("beta", "eq", 1, False, False),  # true is not 1
    ("country", "in", ["AT", "DE", "CH"], False, True),
    ("country", "in", ["at", "ch"], True, False),
    ("country", "not_in", ["AT", "CH"], False, True),
    ("country", "not_in", ["DE"], False, False),
    ("missing", "not_in", ["DE"], False, False),
    ("cart_value", "in", [42.5, 10], False, True),
    ("path", "contains", "checkout", False, True),
    ("path", "contains", "CHECKOUT", True, True),
    ("path", "contains", "cart", False, False),
    ("tags", "contains", "vip", False, True),
    ("tags", "contains", "vi", False, False),  # lists hold whole values
    ("path", "starts_with", "/checkout", False, True),
    ("path", "starts_with", "checkout", False, False),
    ("url", "regex", r"utm_source=(news|mail)", False, True),
    ("url", "regex", r"^http://", False, False),
    ("path", "regex", r"STEP-\d", True, True),
    ("cart_value", "regex", r"42", False, False),  # a number is not a string: non-match
    ("cart_value", "gt", 40, False, True),
    ("cart_value", "gte", 42.5, False, True),
    ("cart_value", "lt", 42.5, False, False),
    ("cart_value", "lte", 42.5, False, True),
    ("visits", "gt", 5, False, True),  # a numeric string, as a tag sends it
    ("country", "gt", 5, False, False),
    ("beta", "gt", 0, False, False),  # booleans are not numbers
    ("app_version", "semver_gt", "2.9.9", False, True),  # 2.10 > 2.9 (not string order)
    ("app_version", "semver_gte", "2.10.0", False, True),
    ("app_version", "semver_lt", "2.10.1-beta.1", False, True),
    ("app_version", "semver_eq", "v2.10", False, True),
    ("app_version", "semver_lte", "2.10.0-rc.1", False, False),  # a release is above its pre-releases
    ("app_version", "semver_neq", "2.10.0+build.5", False, False),  # build metadata is ignored
    ("country", "semver_gt", "1.0.0", False, False),
    ("country", "exists", None, False, True),
    ("missing", "exists", None, False, False),
    ("empty", "exists", True, False, False),
    ("nothing", "exists", False, False, True),
    ("missing", "eq", "x", False, False),
    ("tags", "eq", "vip", False, False),
]


@pytest.mark.parametrize(("attribute", "operator", "value", "ignore_case", "expected"), TABLE)
def test_rule_table(attribute: str, operator: str, value: Any, ignore_case: bool, expected: bool) -> None:
    assert compile_condition(attribute, operator, value, ignore_case)(ATTRS) is expected


def test_every_operator_is_in_the_table() -> None:
    assert {row[1] for row in TABLE} == set(OPERATORS)


@pytest.mark.parametrize(
    ("attribute", "operator", "value", "field"),
    [
        ("country", "like", "x", "operator"),
        ("country", ["eq"], "x", "operator"),  # unhashable: named, not a TypeError
        ("country", None, "x", "operator"),
        (7, "eq", "x", "attribute"),
        ("bad name!", "eq", "x", "attribute"),
        ("country", "in", [], "value"),
        ("country", "in", ["a", {"b": 1}], "value[1]"),
        ("country", "regex", "(unclosed", "value"),
        ("country", "regex", "(?<=a)b", "value"),  # lookbehind: re2 has none
        ("country", "regex", "a" * (MAX_PATTERN + 1), "value"),
        ("country", "gt", "ten", "value"),
        ("country", "semver_gt", "one", "value"),
        ("country", "exists", "yes", "value"),
        ("country", "starts_with", "", "value"),
        ("country", "eq", [1], "value"),
    ],
)
def test_invalid_conditions_name_their_part(attribute: object, operator: object, value: Any, field: str) -> None:
    with pytest.raises(ConditionError) as caught:
        compile_condition(attribute, operator, value)
    assert caught.value.field == field


def test_invalid_rule_is_named_by_position() -> None:
    def cond(attribute: str, operator: str, value: Any) -> dict[str, Any]:
        return {"attribute": attribute, "operator": operator, "value": value}

    rules: list[dict[str, Any]] = [
        {"id": "a", "action": "serve", "arm": 1, "condition": cond("country", "eq", "DE")},
        {"id": "b", "action": "exclude", "condition": cond("device", "eq", "tablet")},
        {"id": "c", "action": "serve", "arm": 0, "condition": cond("url", "regex", "([")},
    ]
    with pytest.raises(RuleError) as caught:
        compile_rules(rules, n_arms=2)
    assert caught.value.field == "rules[2].condition.value"
    rules[2]["condition"]["value"] = ".*"
    rules[2]["arm"] = 5
    with pytest.raises(RuleError) as caught:
        compile_rules(rules, n_arms=2)
    assert caught.value.field == "rules[2].arm"


def test_regex_is_linear_on_catastrophic_patterns() -> None:
    # (a+)+$ backtracks exponentially in python's re; re2 answers at once
    predicate = compile_condition("path", "regex", r"(a+)+$")
    started = time.perf_counter()
    assert predicate({"path": "a" * 3000 + "!"}) is False
    # generous: only a backtracking engine would take anywhere near this long
    assert time.perf_counter() - started < 1.0


def test_semver_precedence_follows_the_spec() -> None:
    order = ["1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta", "1.0.0-beta.2", "1.0.0-beta.11"]
    order += ["1.0.0-rc.1", "1.0.0", "1.0.1", "1.1.0", "2.0.0", "10.0.0"]
    for lower, higher in itertools.pairwise(order):
        assert compile_condition("v", "semver_lt", higher)({"v": lower}), (lower, higher)
        assert compile_condition("v", "semver_gt", lower)({"v": higher}), (lower, higher)
    assert parse_semver("01.0.0") is None and parse_semver("1.0.0.0") is None


scalars = st.one_of(
    st.text(max_size=20), st.integers(-1000, 1000), st.floats(allow_nan=False, allow_infinity=False), st.booleans()
)
junk = st.one_of(
    scalars,
    st.none(),
    st.lists(scalars, max_size=3),
    st.dictionaries(st.text(max_size=5), scalars, max_size=3),
    st.floats(allow_nan=True, allow_infinity=True),
)


@settings(max_examples=300, deadline=None)
@given(value=junk, other=junk)
def test_no_operator_raises_on_any_attribute_value(value: Any, other: Any) -> None:
    # the hot path's promise: whatever a visitor sends, a rule answers true or false
    definitions = [
        ("eq", "x"),
        ("neq", 3),
        ("in", ["x", 1]),
        ("not_in", ["x"]),
        ("contains", "x"),
        ("starts_with", "x"),
        ("regex", "^x"),
        ("gt", 1),
        ("lt", 1.5),
        ("gte", 0),
        ("lte", -1),
        ("semver_gt", "1.0.0"),
        ("semver_lte", "2.0.0-rc.1"),
        ("exists", True),
    ]
    for operator, target in definitions:
        result = compile_condition("a", operator, target)({"a": value, "b": other})
        assert isinstance(result, bool)


@given(value=st.text(max_size=30), target=st.text(min_size=1, max_size=10))
def test_string_operators_agree_with_python(value: str, target: str) -> None:
    attrs = {"a": value}
    assert compile_condition("a", "eq", target)(attrs) is (value == target)
    assert compile_condition("a", "neq", target)(attrs) is (value != target)
    assert compile_condition("a", "contains", target)(attrs) is (target in value)
    assert compile_condition("a", "starts_with", target)(attrs) is value.startswith(target)
    assert compile_condition("a", "regex", re.escape(target))(attrs) is (target in value)
    assert compile_condition("a", "eq", target, True)(attrs) is (value.casefold() == target.casefold())


@given(
    value=st.floats(allow_nan=False, allow_infinity=False, width=32),
    bound=st.floats(allow_nan=False, allow_infinity=False, width=32),
)
def test_number_operators_agree_with_python(value: float, bound: float) -> None:
    for attrs in ({"a": value}, {"a": repr(value)}):
        assert compile_condition("a", "gt", bound)(attrs) is (value > bound)
        assert compile_condition("a", "lt", bound)(attrs) is (value < bound)
        assert compile_condition("a", "gte", bound)(attrs) is (value >= bound)
        assert compile_condition("a", "lte", bound)(attrs) is (value <= bound)


@given(items=st.lists(st.text(max_size=5), min_size=1, max_size=8), value=st.text(max_size=5))
def test_in_and_not_in_are_complements_for_strings(items: list[str], value: str) -> None:
    attrs = {"a": value}
    inside = compile_condition("a", "in", items)(attrs)
    assert inside is (value in items)
    assert compile_condition("a", "not_in", items)(attrs) is (not inside)


versions = st.tuples(st.integers(0, 30), st.integers(0, 30), st.integers(0, 30))


@given(left=versions, right=versions)
def test_semver_orders_like_integer_tuples(left: tuple[int, int, int], right: tuple[int, int, int]) -> None:
    a, b = ".".join(map(str, left)), ".".join(map(str, right))
    assert compile_condition("v", "semver_gt", b)({"v": a}) is (left > right)
    assert compile_condition("v", "semver_eq", b)({"v": a}) is (left == right)
    assert compile_condition("v", "semver_lte", b)({"v": a}) is (left <= right)


def test_safe_turns_an_error_into_a_non_match() -> None:
    def broken(attrs: Any) -> bool:
        raise RuntimeError("boom")

    assert safe(broken)({}) is False
