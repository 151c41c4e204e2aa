"""public endpoints behind the browser tag: site key authorises, cors follows the site's allowed origins."""

from __future__ import annotations

import re
from typing import Any

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath

from app.domain.decisions.api import request_id_of
from app.domain.gates.attributes import with_request_attributes
from app.domain.tag.origins import OriginRefusedError
from app.domain.tag.schemas import (
    DecideRequest,
    DecideResponse,
    EventsRequest,
    EventsResponse,
    decide_decoder,
    events_decoder,
)
from app.domain.tag.services import TagService, render_tag, visitor_attributes
from app.domain.tag.targets import hide_css, targets_of
from app.domain.tag.templates import TEMPLATES, render_template
from app.lib.errors import InvalidInputError, NotFoundError, field_from_message
from app.lib.openapi import TEXT_JSON, operation, problem_responses
from app.runtime.records import SiteConfig

MAX_TAG_BODY = 16 * 1024
# short: the inlined list of live experiments must follow starts and stops within a minute
TAG_CACHE = {"Cache-Control": "public, max-age=60, stale-while-revalidate=600"}


def cors_headers(site: SiteConfig, origin: str | None) -> dict[str, str]:
    if origin is None:
        return {}
    if origin.rstrip("/").lower() not in site.allowed_origins:
        raise OriginRefusedError(
            f"origin {origin} is not allowed for this site", site_key=site.public_key, origin=origin
        )
    return {
        "Access-Control-Allow-Origin": origin,
        "Access-Control-Allow-Methods": "POST, OPTIONS",
        "Access-Control-Allow-Headers": "Content-Type",
        "Access-Control-Max-Age": "600",
        "Vary": "Origin",
    }


_UNKNOWN = re.compile(r"unknown field `([^`]+)`(?: - at `\$\.?([^`]*)`)?")


def decode(decoder: msgspec.json.Decoder[Any], body: bytes) -> Any:
    try:
        return decoder.decode(body)
    except msgspec.ValidationError as exc:
        message = str(exc)
        if unknown := _UNKNOWN.search(message):
            field = f"{unknown.group(2)}.{unknown.group(1)}" if unknown.group(2) else unknown.group(1)
        else:
            field = field_from_message(message.replace("[...]", ""))
        raise InvalidInputError(message, field=field) from exc
    except msgspec.DecodeError as exc:
        raise InvalidInputError("body is not valid JSON", field="body") from exc


class TagController(Controller):
    tags = ["public tag"]

    @get(
        "/t/{site_file:str}",
        media_type="application/javascript",
        operation_class=operation(also_answers=("text/plain",)),
        responses=problem_responses(
            400, 404, s404="Unknown site key, or a file other than .js, .css, .setup.tpl or .conversion.tpl."
        ),
    )
    async def tag_script(self, site_file: FromPath[str], request: Request[Any, Any, Any]) -> Response[str]:
        """The browser tag of a site (`<site key>.js`), its anti-flicker stylesheet (`.css`) or GTM templates."""
        tag: TagService = request.app.state.tag
        settings = request.app.state.settings
        api = settings.base_url or str(request.base_url).rstrip("/")
        site_key, _, kind = site_file.partition(".")
        site = await tag.site_or_refresh(site_key)
        if kind in TEMPLATES:
            # gtm community templates with this site's key and the tag's url pinned in their permissions
            body = render_template(TEMPLATES[kind], api, site.public_key)
            return Response(body, media_type="text/plain; charset=utf-8", headers={"Cache-Control": "no-cache"})
        targets = targets_of(tag.experiments_of(site))
        if kind == "css":
            # the anti-flicker stylesheet of the install (app.domain.tag.targets): marked elements and targets
            return Response(hide_css(targets), media_type="text/css; charset=utf-8", headers=TAG_CACHE)
        if kind != "js":
            raise NotFoundError("no such file; the tag is /t/<site key>.js", field="site_file")
        live = tag.live_experiment_keys(site)
        body = render_tag({"key": site.public_key, "api": api, "x": live, "s": targets})
        return Response(
            body,
            media_type="application/javascript; charset=utf-8",
            headers=TAG_CACHE,
        )

    @post(
        "/p/{site_key:str}/d",
        status_code=200,
        request_max_body_size=MAX_TAG_BODY,
        operation_class=operation(DecideRequest, TEXT_JSON),
        responses=problem_responses(
            400, 403, 404, 413, 422, 429, 503, s403="The Origin is not allowed for this site.", s404="Unknown site key."
        ),
    )
    async def decide(self, site_key: FromPath[str], request: Request[Any, Any, Any]) -> Response[DecideResponse]:
        """The tag's decisions for the experiments on a page; the site key authorises, CORS follows its origins."""
        tag: TagService = request.app.state.tag
        site = await tag.site_or_refresh(site_key)
        headers = cors_headers(site, request.headers.get("origin"))
        body = decode(decide_decoder, await request.body())
        attributes = with_request_attributes(
            visitor_attributes(body, request.headers.get("user-agent", "")),
            request.headers,
            request.app.state.settings.country_header,
        )
        decisions = await tag.decide(site, body, request_id_of(request), attributes)
        return Response(DecideResponse(d=decisions), headers=headers)

    @post(
        "/p/{site_key:str}/e",
        status_code=202,
        request_max_body_size=MAX_TAG_BODY,
        operation_class=operation(EventsRequest, TEXT_JSON),
        responses={
            202: ResponseSpec(EventsResponse, description="Events recorded; those no longer collecting are skipped."),
            **problem_responses(
                400,
                403,
                404,
                413,
                422,
                429,
                503,
                s403="The Origin is not allowed for this site.",
                s404="Unknown site key.",
            ),
        },
    )
    async def events(self, site_key: FromPath[str], request: Request[Any, Any, Any]) -> Response[Any]:
        """Record the tag's exposures and conversions by selection token; one bad token refuses the whole batch."""
        tag: TagService = request.app.state.tag
        site = await tag.site_or_refresh(site_key)
        headers = cors_headers(site, request.headers.get("origin"))
        body = decode(events_decoder, await request.body())
        result = await tag.record(site, body, request_id_of(request))
        return Response(result, headers=headers, status_code=202)
