"""one helper turns a msgspec validation error into the form field it belongs to and a message."""

from __future__ import annotations

import msgspec
import pytest

from app.lib.errors import form_error


class _Arm(msgspec.Struct):
    name: str


class _Body(msgspec.Struct):
    name: str
    arms: list[_Arm]
    origins: list[str] = []


def _error(raw: object) -> msgspec.ValidationError:
    with pytest.raises(msgspec.ValidationError) as caught:
        msgspec.convert(raw, _Body)
    return caught.value


def test_a_wrong_type_names_its_path_and_drops_the_location_from_the_message() -> None:
    assert form_error(_error({"name": 1, "arms": []}), "x") == ("name", "Expected `str`, got `int`")
    assert form_error(_error({"name": "n", "arms": [{"name": 2}]}), "x") == (
        "arms[0].name",
        "Expected `str`, got `int`",
    )


def test_a_missing_field_is_named_even_without_a_location() -> None:
    assert form_error(_error({"arms": []}), "x") == ("name", "Object missing required field `name`")
    assert form_error(_error({"name": "n", "arms": [{}]}), "x")[0] == "arms[0].name"


def test_an_error_that_names_no_place_falls_back_to_the_default() -> None:
    assert form_error(_error([]), "email") == ("email", "Expected `object`, got `array`")
