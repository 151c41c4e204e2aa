"""the segment a visitor belongs to: a few low-cardinality dimensions recorded on each exposure (pure, no i/o).

the web tier reduces what a request says (the targeting attributes) to a short tuple of normalised values
that rides in the selection token, so the exposure and every later conversion of that token count in the
same segment. each value is squeezed into a narrow shape here (an enum, a two-letter code, a short slug), so
one event never carries much; the number of distinct values per experiment is bounded later, by the worker
(app.worker.segments), which keeps the first ``MAX_VALUES`` of each dimension and counts the rest as "other".
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

DIMENSIONS: tuple[str, ...] = ("device", "country", "language", "utm_source", "utm_medium", "visitor")
LABELS: dict[str, str] = {
    "device": "Device",
    "country": "Country",
    "language": "Language",
    "utm_source": "UTM source",
    "utm_medium": "UTM medium",
    "visitor": "New or returning",
}
DEVICES = frozenset({"desktop", "mobile", "tablet"})
OTHER = "other"
# shown for an empty value: the request did not say (no utm tag, no country header, cookieless visitor)
NOT_SET = ""
# a visitor first seen this recently is still on the visit that made it a visitor: "new"
NEW_VISITOR_SECONDS = 30 * 60
SLUG_LENGTH = 32
# distinct values an experiment counts on their own per dimension, besides "other" and unset (a hard cap kept by
# the worker, app.worker.segments)
MAX_VALUES = 50

_COUNTRY = re.compile(r"^[A-Z]{2}$")
_LANGUAGE = re.compile(r"^[a-z]{2,3}$")
_SLUG_DROP = re.compile(r"[^a-z0-9._-]+")


def device_value(value: Any) -> str:
    text = str(value or "").strip().lower()
    return text if text in DEVICES else (OTHER if text else NOT_SET)


def country_value(value: Any) -> str:
    # iso 3166 alpha-2 shape only; cloudflare's "XX" (unknown) and "T1" (tor) fall out as unset / other
    text = str(value or "").strip().upper()
    if not text or text == "XX":
        return NOT_SET
    return text if _COUNTRY.match(text) else OTHER


def language_value(value: Any) -> str:
    # the primary subtag only ("de-CH" is "de"): regional variants would split a segment for little gain
    text = str(value or "").strip().lower().split("-", 1)[0].split("_", 1)[0]
    if not text:
        return NOT_SET
    return text if _LANGUAGE.match(text) else OTHER


def slug_value(value: Any) -> str:
    """a utm value folded to lowercase [a-z0-9._-], at most SLUG_LENGTH characters ("Google Ads" is "google-ads")."""
    text = _SLUG_DROP.sub("-", str(value or "").strip().lower()).strip("-")
    return text[:SLUG_LENGTH]


def visitor_value(first_seen: Any, now: float) -> str:
    """ "new" while the visitor's first-seen time (unix seconds) is under NEW_VISITOR_SECONDS old, else
    "returning"; unset when unknown (no stored id: cookieless or no consent)."""
    if isinstance(first_seen, bool) or not isinstance(first_seen, int | float) or first_seen <= 0:
        return NOT_SET
    return "new" if now - float(first_seen) < NEW_VISITOR_SECONDS else "returning"


def segment_of(attributes: Mapping[str, Any], now: float) -> list[str]:
    """the normalised values, one per DIMENSIONS entry, from the targeting attributes (the tag's or select's
    context.metadata merged with the request's country and language). `visitor_first_seen` (unix seconds)
    gives new vs returning; an explicit `visitor_type` of "new" or "returning" wins."""
    kind = str(attributes.get("visitor_type") or "").strip().lower()
    visitor = kind if kind in ("new", "returning") else visitor_value(attributes.get("visitor_first_seen"), now)
    return [
        device_value(attributes.get("device")),
        country_value(attributes.get("country")),
        language_value(attributes.get("language")),
        slug_value(attributes.get("utm_source")),
        slug_value(attributes.get("utm_medium")),
        visitor,
    ]


def checked_segment(values: Sequence[Any] | None) -> list[str]:
    """a segment read back from a token or an event, re-normalised: whatever signed it, nothing longer or
    stranger than segment_of makes reaches the statistics; a missing or short one is unset."""
    found = list(values or [])[: len(DIMENSIONS)]
    found += [NOT_SET] * (len(DIMENSIONS) - len(found))
    return [
        device_value(found[0]),
        country_value(found[1]),
        language_value(found[2]),
        slug_value(found[3]),
        slug_value(found[4]),
        str(found[5]) if found[5] in ("new", "returning") else NOT_SET,
    ]


def compact(values: Sequence[str]) -> list[str]:
    """drops trailing unset values: a token of a visitor with no utm and no country stays short."""
    trimmed = list(values)
    while trimmed and trimmed[-1] == NOT_SET:
        trimmed.pop()
    return trimmed
