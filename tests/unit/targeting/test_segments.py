"""a visitor's segment: narrow values from whatever the request says, and re-checked when read back."""

from __future__ import annotations

from app.targeting.segments import (
    DIMENSIONS,
    NEW_VISITOR_SECONDS,
    SLUG_LENGTH,
    checked_segment,
    compact,
    segment_of,
)

NOW = 1_800_000_000.0


def test_segment_from_targeting_attributes() -> None:
    attributes = {
        "device": "Mobile",
        "country": "ch",
        "language": "de-CH",
        "utm_source": " Google Ads ",
        "utm_medium": "CPC",
        "visitor_first_seen": NOW - 60,
    }
    assert segment_of(attributes, NOW) == ["mobile", "CH", "de", "google-ads", "cpc", "new"]
    later = dict(attributes, visitor_first_seen=NOW - NEW_VISITOR_SECONDS - 1)
    assert segment_of(later, NOW)[-1] == "returning"
    # an explicit visitor type (the api's caller knows its users) wins over the first-seen time
    assert segment_of(dict(later, visitor_type="new"), NOW)[-1] == "new"


def test_unknown_and_hostile_values_stay_narrow() -> None:
    hostile = {
        "device": "<script>",
        "country": "Atlantis",
        "language": "x" * 500,
        "utm_source": "a" * 5000 + "!!",
        "utm_medium": "=cmd|' /C calc'!A0",
        "visitor_first_seen": True,
    }
    segment = segment_of(hostile, NOW)
    assert segment[:3] == ["other", "other", "other"]
    assert len(segment[3]) == SLUG_LENGTH and set(segment[3]) == {"a"}
    assert segment[4] == "cmd-c-calc-a0" and segment[5] == ""
    # nothing given: every dimension unset, and the token carries an empty list
    assert segment_of({}, NOW) == [""] * len(DIMENSIONS)
    assert compact(segment_of({}, NOW)) == []
    assert segment_of({"country": "XX"}, NOW)[1] == ""  # cloudflare's "unknown"


def test_a_segment_read_back_is_rechecked_and_padded() -> None:
    assert checked_segment(("mobile", "DE")) == ["mobile", "DE", "", "", "", ""]
    assert checked_segment(None) == [""] * 6
    forged = ("laptop", "de", "EN-us", "Z" * 100, "x y", "maybe", "extra")
    assert checked_segment(forged) == ["other", "DE", "en", "z" * SLUG_LENGTH, "x-y", ""]
    assert compact(["mobile", "", "de", "", "", ""]) == ["mobile", "", "de"]
