"""request-body guard: what the typed decoders can't refuse by themselves, refused once for every route.

- nesting: a json body nested deeper than MAX_DEPTH is a 422 before any decoder sees it (msgspec raises
  RecursionError near 1,000 levels, a 500). the structures of the api nest 3-4 levels, so free-form
  metadata keeps about 8 levels of its own.
- NUL: postgres text can't hold U+0000 (asyncpg raised a 500); a NUL in any string, key or value, of a json
  or form body is a 422 naming the field.
- coercion: litestar converts bodies with msgspec's lax rules, so `"reward": "1"` passed as 1.0. a body that
  only validates through such coercion (a string where a number or a boolean belongs) is a 422 naming the field.

the checks cost a few byte scans on the hot path; the walks run only when a scan finds something.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl

import msgspec
from litestar import Request

from app.lib.errors import InvalidInputError

MAX_DEPTH = 12
_BODY_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
# a whole string (skipped over, escapes included) or one bracket
_TOKENS = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]')
_decoders: dict[Any, tuple[msgspec.json.Decoder[Any], msgspec.json.Decoder[Any]] | None] = {}


def json_depth_exceeds(body: bytes, limit: int = MAX_DEPTH) -> bool:
    """whether the json text nests deeper than limit (brackets inside strings don't count)."""
    if body.count(b"[") + body.count(b"{") <= limit:
        return False
    depth = 0
    for match in _TOKENS.finditer(body):
        token = match.group()
        if token in (b"[", b"{"):
            depth += 1
            if depth > limit:
                return True
        elif token in (b"]", b"}"):
            depth -= 1
    return False


def nul_path(value: Any, path: str = "") -> str | None:
    """the path of the first string (key or value) holding a NUL, e.g. `arms[1].metadata.colour`."""
    stack: list[tuple[Any, str]] = [(value, path)]
    while stack:
        item, where = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return where or "body"
        elif isinstance(item, dict):
            for key, child in item.items():
                child_path = f"{where}.{key}" if where else str(key)
                if isinstance(key, str) and "\x00" in key:
                    return child_path.replace("\x00", "\\u0000")
                stack.append((child, child_path))
        elif isinstance(item, list):
            stack.extend((child, f"{where}[{i}]") for i, child in enumerate(item))
    return None


def _strict_decoders(annotation: Any) -> tuple[msgspec.json.Decoder[Any], msgspec.json.Decoder[Any]] | None:
    if annotation not in _decoders:
        try:
            pair = (msgspec.json.Decoder(annotation, strict=True), msgspec.json.Decoder(annotation, strict=False))
        except TypeError:  # not a type msgspec decodes
            pair = None
        _decoders[annotation] = (
            pair if isinstance(annotation, type) and issubclass(annotation, msgspec.Struct) else None
        )
    return _decoders[annotation]


def _path_of(error: msgspec.ValidationError) -> str:
    match = re.search(r"at `\$\.?([^`]*)`", str(error))
    return (match.group(1) if match else "") or "body"


async def guard_request_body(request: Request[Any, Any, Any]) -> None:
    """an app-level before_request hook."""
    if request.method not in _BODY_METHODS:
        return
    body = await request.body()
    if not body:
        return
    if request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        if b"%00" in body:
            for key, value in parse_qsl(body.decode("latin-1"), keep_blank_values=True):
                if "\x00" in key or "\x00" in value:
                    raise InvalidInputError("must not contain a NUL character", field=key.replace("\x00", ""))
        return
    if json_depth_exceeds(body):
        raise InvalidInputError(f"the body nests deeper than {MAX_DEPTH} levels", field="body")
    if b"\\u0000" in body:
        try:
            decoded = msgspec.json.decode(body)
        except msgspec.DecodeError:
            return  # not json: the route's own decoding answers that
        where = nul_path(decoded)
        if where is not None:
            raise InvalidInputError("must not contain a NUL character (\\u0000)", field=where)
    field = request.route_handler.parsed_fn_signature.parameters.get("data")
    decoders = _strict_decoders(field.annotation) if field is not None else None
    if decoders is None:
        return
    strict, lax = decoders
    try:
        strict.decode(body)
    except msgspec.ValidationError as exc:
        try:
            lax.decode(body)
        except (msgspec.ValidationError, msgspec.DecodeError):
            return  # invalid either way: the route's validation names it as usual
        raise InvalidInputError(f"wrong json type: {str(exc).split(' - at')[0]}", field=_path_of(exc)) from exc
    except msgspec.DecodeError:
        return
