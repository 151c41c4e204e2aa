"""the tag's decide and events as lean routes (app.lib.hot_http); the controller (api.py) documents them and
answers what these hand back (a body that nests too deep or holds a NUL, an oversize body, OPTIONS)."""

from __future__ import annotations

import msgspec

from app.domain.gates.attributes import with_request_attributes
from app.domain.tag.api import MAX_TAG_BODY, cors_headers, decode
from app.domain.tag.schemas import DecideResponse, decide_decoder, events_decoder
from app.domain.tag.services import TagService, visitor_attributes
from app.lib.hot_http import Headers, HotRequest, HotResponse, HotRoute, json_body
from app.runtime.records import SiteConfig

_encode = msgspec.json.Encoder().encode
# the cors answer per allowed origin, encoded once (an origin is checked against the site on every request)
_cors: dict[str, Headers] = {}


def cors(site: SiteConfig, origin: str | None) -> Headers:
    headers = cors_headers(site, origin)  # raises the 403 for an origin the site does not allow
    if origin is None:
        return []
    encoded = _cors.get(origin)
    if encoded is None:
        if len(_cors) > 10_000:
            _cors.clear()
        encoded = _cors[origin] = [(k.lower().encode(), v.encode("latin-1")) for k, v in headers.items()]
    return encoded


async def decide(request: HotRequest) -> HotResponse:
    body = json_body(request.body, request.headers.get("content-type", ""))
    tag: TagService = request.app.state.tag
    site = await tag.site_or_refresh(request.param)
    headers = cors(site, request.headers.get("origin"))
    data = decode(decide_decoder, body)
    attributes = with_request_attributes(
        visitor_attributes(data, request.headers.get("user-agent", "")),
        request.headers,
        request.app.state.settings.country_header,
    )
    decisions = await tag.decide(site, data, request.request_id, attributes)
    return HotResponse(200, _encode(DecideResponse(d=decisions)), list(headers))


async def events(request: HotRequest) -> HotResponse:
    body = json_body(request.body, request.headers.get("content-type", ""))
    tag: TagService = request.app.state.tag
    site = await tag.site_or_refresh(request.param)
    headers = cors(site, request.headers.get("origin"))
    data = decode(events_decoder, body)
    result = await tag.record(site, data, request.request_id)
    return HotResponse(202, _encode(result), list(headers))


ROUTES: dict[str, HotRoute] = {
    "d": HotRoute("POST", "/p/{site_key:str}/d", decide, max_body=MAX_TAG_BODY, limited=True),
    "e": HotRoute("POST", "/p/{site_key:str}/e", events, max_body=MAX_TAG_BODY, limited=True),
}
