"""one gate in front of every handler for input no handler should see: a NUL character in any string (postgres
text can't hold it, so asyncpg fails the request) and json nested deeper than any levers body (the decoder
recurses, so a deep enough body is a RecursionError). both answer 422 naming the field."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl

import msgspec
from litestar import Request

from app.lib.errors import InvalidInputError

# no levers body nests this deep; free-form metadata has its own, tighter limits in its schemas
MAX_JSON_DEPTH = 32
# \u0000 in a json string, not preceded by an escaped backslash (`\\u0000` is a backslash and "u0000")
_JSON_NUL = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000")
_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKET = re.compile(rb"[\[\]{}]")
_FORM = "application/x-www-form-urlencoded"


def json_too_deep(body: bytes, limit: int = MAX_JSON_DEPTH) -> bool:
    """whether brackets outside strings nest past limit; malformed json is left to the decoder."""
    if body.count(b"[") + body.count(b"{") <= limit:  # the common case, at c speed
        return False
    depth = 0
    for bracket in _BRACKET.findall(_JSON_STRING.sub(b"", body)):
        depth += 1 if bracket in (b"[", b"{") else -1
        if depth > limit:
            return True
    return False


def path_of_nul(value: Any, path: str = "") -> str | None:
    """the json path of the first key or string holding a NUL character, e.g. `arms[0].name`."""
    if isinstance(value, str):
        return (path or "body") if "\x00" in value else None
    if isinstance(value, dict):
        for key, item in value.items():
            here = f"{path}.{key}" if path else str(key)
            if "\x00" in str(key):
                return here.replace("\x00", "\\u0000")
            if (found := path_of_nul(item, here)) is not None:
                return found
    if isinstance(value, list):
        for index, item in enumerate(value):
            if (found := path_of_nul(item, f"{path}[{index}]")) is not None:
                return found
    return None


def _check_json(body: bytes) -> None:
    if json_too_deep(body):
        raise InvalidInputError(f"the body nests deeper than {MAX_JSON_DEPTH} levels", field="body")
    if _JSON_NUL.search(body):
        try:
            decoded = msgspec.json.decode(body)
        except msgspec.DecodeError:
            return  # not json: the handler's decoder names that
        raise InvalidInputError("text may not contain NUL characters (\\u0000)", field=path_of_nul(decoded) or "body")


def _check_form(body: bytes) -> None:
    if b"%00" in body:
        for key, value in parse_qsl(body.decode("latin-1"), keep_blank_values=True):
            if "\x00" in key or "\x00" in value:
                raise InvalidInputError("text may not contain NUL characters", field=key.replace("\x00", ""))


async def reject_unsafe_input(request: Request[Any, Any, Any]) -> None:
    """before_request: checks the body (json or form) of every request. query and path parameters reach the
    handlers typed (uuids, numbers) or as cache keys, never as text to store, so they are left to their types."""
    if request.method in ("GET", "HEAD", "OPTIONS", "DELETE"):
        return
    body = await request.body()
    if not body:
        return
    content_type = request.headers.get("content-type", "")
    if content_type.startswith(_FORM):
        _check_form(body)
    elif not content_type.startswith("multipart/"):  # the api's json, and the tag's json sent as text/plain
        _check_json(body)
