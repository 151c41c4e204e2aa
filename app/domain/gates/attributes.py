"""targeting attributes a request itself carries: the visitor's country (from a cdn header) and language."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

_COUNTRY = re.compile(r"^[A-Za-z][A-Za-z0-9]{1,3}$")
_LANGUAGE = re.compile(r"^[A-Za-z]{2,8}(?:-[A-Za-z0-9]{1,8})*$")


def country_from(headers: Mapping[str, str], header: str) -> str | None:
    """the header's value upper-cased (cloudflare sends "DE", "XX" unknown, "T1" tor), or None."""
    value = (headers.get(header) or "").strip()
    return value.upper() if _COUNTRY.match(value) else None


def language_from(headers: Mapping[str, str]) -> str | None:
    """the first language of accept-language, lower-cased ("de-ch"), or None."""
    first = (headers.get("accept-language") or "").split(",", 1)[0].split(";", 1)[0].strip()
    return first.lower() if first != "*" and _LANGUAGE.match(first) else None


def request_attributes(headers: Mapping[str, str], country_header: str) -> dict[str, str]:
    found: dict[str, str] = {}
    if country := country_from(headers, country_header):
        found["country"] = country
    if language := language_from(headers):
        found["language"] = language
    return found


def with_request_attributes(
    attributes: Mapping[str, Any] | None, headers: Mapping[str, str], country_header: str
) -> dict[str, Any]:
    """the caller's attributes, with country and language from the request where the caller gave none."""
    merged = dict(attributes or {})
    if country_header not in headers and "accept-language" not in headers:
        return merged  # a server-side select usually carries neither
    for name, value in request_attributes(headers, country_header).items():
        merged.setdefault(name, value)
    return merged
