from __future__ import annotations

import json

import pytest

from app.lib.bodies import MAX_JSON_DEPTH, _check_form, _check_json, json_too_deep, path_of_nul
from app.lib.errors import InvalidInputError


def nested(depth: int, inner: str = "1") -> bytes:
    return ("[" * depth + inner + "]" * depth).encode()


def test_depth_is_counted_up_to_the_limit_and_past_it() -> None:
    assert not json_too_deep(nested(MAX_JSON_DEPTH))
    assert json_too_deep(nested(MAX_JSON_DEPTH + 1))
    assert json_too_deep(b'{"a":' * 5000 + b"1" + b"}" * 5000)
    # many brackets side by side are wide, not deep
    assert not json_too_deep(json.dumps([[1]] * 1000).encode())


def test_brackets_inside_strings_do_not_count() -> None:
    assert not json_too_deep(json.dumps({"text": "[" * 500, "quoted": '\\"{{{{' * 100}).encode())


def test_the_path_of_a_nul_names_the_field() -> None:
    body = {"name": "ok", "arms": [{"name": "a"}, {"name": "b\x00"}]}
    assert path_of_nul(body) == "arms[1].name"
    assert path_of_nul({"metadata": {"k\x00": 1}}) == "metadata.k\\u0000"
    assert path_of_nul("x\x00") == "body"
    assert path_of_nul({"clean": ["a", {"b": "c"}]}) is None


def test_nul_is_refused_with_its_field_and_an_escaped_backslash_is_not_a_nul() -> None:
    with pytest.raises(InvalidInputError) as refused:
        _check_json(json.dumps({"email": "a\x00@example.com"}).encode())
    assert refused.value.status_code == 422 and refused.value.field == "email"
    _check_json(json.dumps({"path": "C:\\u0000"}).encode())  # a backslash, then "u0000": allowed
    with pytest.raises(InvalidInputError) as deep:
        _check_json(nested(5000))
    assert deep.value.field == "body"


def test_a_nul_in_a_form_names_its_field() -> None:
    _check_form(b"name=ok&email=a%40b.c")
    with pytest.raises(InvalidInputError) as refused:
        _check_form(b"name=ok&email=a%00%40b.c")
    assert refused.value.field == "email"
