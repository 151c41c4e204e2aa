"""html fragments with an etag, so a page that polls one is answered 304 (no body) while nothing changed.

the etag is a hash of the rendered fragment: whatever changes what the person would see (a new visitor, a
status, a teammate's edit) changes it, and nothing else does. rendering still runs each time; the saving is the
bytes on the wire and the browser's work (an open results tab: 16 KB every 3 s became a few hundred bytes).
"""

from __future__ import annotations

import hashlib
from typing import Any

from litestar import Request, Response
from litestar.enums import MediaType
from litestar.exceptions import ImproperlyConfiguredException
from litestar.response import Template

# private: the fragment is one member's view; no-cache: the browser must ask each time (and may send the etag)
CACHE_CONTROL = "private, no-cache"


def etag_of(body: bytes) -> str:
    return '"' + hashlib.blake2b(body, digest_size=12).hexdigest() + '"'


def matches(if_none_match: str | None, etag: str) -> bool:
    if not if_none_match:
        return False
    if if_none_match.strip() == "*":
        return True
    # weak comparison (rfc 9110 13.1.2): a proxy that compressed the answer may have weakened the tag
    tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
    return etag in tags


def conditional_template(request: Request[Any, Any, Any], template: Template) -> Response[bytes]:
    """renders the template and answers 200 with an etag, or 304 when the caller already holds this version."""
    engine = request.app.template_engine
    if engine is None or template.template_name is None:
        raise ImproperlyConfiguredException("a conditional template needs the template engine and a file")
    body = engine.get_template(template.template_name).render(**template.create_template_context(request)).encode()
    etag = etag_of(body)
    headers = {"ETag": etag, "Cache-Control": CACHE_CONTROL}
    if matches(request.headers.get("if-none-match"), etag):
        return Response(b"", status_code=304, headers=headers)
    return Response(body, media_type=MediaType.HTML, headers=headers)
