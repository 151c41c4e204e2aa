"""the hot path's shortcuts answer exactly what the general code answers: each is checked against it."""

from __future__ import annotations

import base64
import dataclasses
import math
import random

import pytest

from app.bandits.errors import PolicyError
from app.bandits.floor import check_floor
from app.domain.gates.attributes import request_attributes, with_request_attributes
from app.lib.tokens import _b64, _unb64
from app.runtime.keys import RedisKeys


def test_token_base64_is_urlsafe_base64_without_padding() -> None:
    rng = random.Random(7)
    for size in range(0, 300):
        data = bytes(rng.randrange(256) for _ in range(size))
        assert _b64(data) == base64.urlsafe_b64encode(data).rstrip(b"=").decode()
        assert _unb64(_b64(data)) == data


@pytest.mark.parametrize("floor", [0.0, 0.05, 0.5, 0.999999])
def test_a_plain_float_floor_is_taken_as_it_is(floor: float) -> None:
    assert check_floor(floor) == floor


@pytest.mark.parametrize("bad", [1.0, 1.5, -0.0001, math.nan, math.inf, -math.inf, True, "0.1", None])
def test_a_floor_out_of_range_or_not_a_number_is_still_refused(bad: object) -> None:
    with pytest.raises(PolicyError) as caught:
        check_floor(bad)
    assert caught.value.field == "exploration_floor"


def test_the_keys_of_an_experiment_are_in_the_slot_of_its_shard() -> None:
    keys = RedisKeys("levers_test_shortcut:", 4)
    ids = [f"experiment-{i}" for i in range(200)]
    for _ in range(2):  # the second time from what the first remembered
        assert [keys.stream_for(i) for i in ids] == [keys.stream(keys.shard_of(i)) for i in ids]
        # the marks and contexts share the remembered tag: the slot of their experiment's stream
        marks = [f"levers_test_shortcut:{{s{keys.shard_of(i)}}}:fb:x:n" for i in ids]
        assert [keys.dedup(i, "x:n") for i in ids] == marks


def test_a_copy_under_another_prefix_does_not_share_remembered_streams() -> None:
    keys = RedisKeys("levers_a:", 4)
    first = keys.stream_for("experiment-1")
    other = dataclasses.replace(keys, prefix="levers_b:")
    assert other.stream_for("experiment-1") == first.replace("levers_a:", "levers_b:")
    assert keys == RedisKeys("levers_a:", 4)  # what it remembered takes no part in equality


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"content-type": "application/json"},
        {"cf-ipcountry": "de"},
        {"accept-language": "fr-CH, fr;q=0.9"},
        {"cf-ipcountry": "XX", "accept-language": "*"},
        {"cf-ipcountry": "", "accept-language": ""},
    ],
)
@pytest.mark.parametrize("given", [None, {}, {"plan": "pro"}, {"country": "US", "language": "en"}])
def test_request_attributes_merge_the_same_with_or_without_the_headers(
    headers: dict[str, str], given: dict[str, str] | None
) -> None:
    expected = dict(given or {})
    for name, value in request_attributes(headers, "cf-ipcountry").items():
        expected.setdefault(name, value)
    merged = with_request_attributes(given, headers, "cf-ipcountry")
    assert merged == expected
    assert merged is not given  # a copy: the caller's mapping is never changed
