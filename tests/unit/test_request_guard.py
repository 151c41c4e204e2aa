from __future__ import annotations

import json

from app.lib.request_guard import MAX_DEPTH, json_depth_exceeds, nul_path


def _nested(depth: int) -> bytes:
    return ("[" * depth + "]" * depth).encode()


def test_depth_counts_brackets_outside_strings_only() -> None:
    assert not json_depth_exceeds(_nested(MAX_DEPTH))
    assert json_depth_exceeds(_nested(MAX_DEPTH + 1))
    assert json_depth_exceeds(_nested(5000))
    # brackets inside strings, escaped quotes included, are text
    text = json.dumps({"a": "[" * 50 + '\\"' + "{" * 50, "b": ["x"] * 40}).encode()
    assert not json_depth_exceeds(text)
    # a string ending in an escaped backslash closes where it should
    assert json_depth_exceeds(b'{"a": "\\\\", "b": ' + _nested(MAX_DEPTH))


def test_nul_path_names_keys_values_and_list_items() -> None:
    assert nul_path({"a": [{"b": "ok"}, {"c": "x\x00"}]}) == "a[1].c"
    assert nul_path({"k\x00": 1}) == "k\\u0000"
    assert nul_path({"a": {"b": ["fine", 1, None]}}) is None
    assert nul_path("\x00") == "body"
