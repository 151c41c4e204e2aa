"""the hot path's own http plumbing: a handful of routes answered in front of litestar's router.

why bypass the framework here: a py-spy profile of select (issue 12) put ~75% of its cpu in per-request
framework work (an anyio task group to resolve dependencies ~12%, body and kwargs extraction ~9%, response
building ~12%, the middleware stack ~12%), and litestar has no switch that skips those for one route. so select,
feedback, the tag's decide and events, and /healthz are served here: the body read once, decoded by a typed
strict msgspec decoder, answered with pre-encoded headers. measured with bench/hot_path.py (one worker, ratio
of req/s to a bare litestar json route, quiet 2-core box): select 0.17 -> 0.53, feedback 0.17 -> 0.88, the tag's
decide 0.11 -> 0.67 and events 0.06 -> 0.49, /healthz 0.63 -> 2.4.

what stays the same, and how:
- litestar still holds these routes (their openapi docs, OPTIONS, 405s) and answers every request that the lean
  route is not sure about: a body that does not decode strictly, nests too deep or holds a NUL, a form body, an
  oversize body, a failed authentication or a too-low role. the body read so far is replayed to it, so those
  answers (the 4xx naming the field, the 401/403, the 413) are litestar's own, not a copy of them.
- domain errors (404 no such experiment, 422 a bad context vector, 503 redis away) become the same problem+json
  as app.lib.errors makes; anything unexpected is logged and a 500 problem, as there.
- the request id (X-Request-ID when sane, else a new one), the latency histogram per route template, the
  access log line and the security headers are those of app.lib.observability and app.lib.security_headers.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import msgspec
import structlog
from litestar import Litestar

from app.lib.entropy import random_hex
from app.lib.errors import PROBLEM_JSON, DomainError, FieldError, Problem
from app.lib.errors import log as error_log
from app.lib.metrics import HTTP_LATENCY
from app.lib.observability import _HOT_PATHS, _QUIET_PREFIXES, _SANE, HEADER, access_log
from app.lib.request_guard import json_depth_exceeds
from app.lib.security_headers import api_headers

if TYPE_CHECKING:
    from litestar.types import HTTPResponseBodyEvent, HTTPResponseStartEvent, HTTPScope, Receive, Scope, Send

    from app.lib.public_limit import WindowLimiter

JSON = b"application/json"
_PROBLEM = PROBLEM_JSON.encode()
_DEBUG, _INFO, _ERROR = 10, 20, 40
_encode = msgspec.json.Encoder().encode
_bind = structlog.contextvars.bind_contextvars
_reset = structlog.contextvars.reset_contextvars

Headers = list[tuple[bytes, bytes]]


class Fallback(Exception):
    """hand the request to the litestar app, which answers it in full (with the body read so far replayed)."""


@dataclass(slots=True)
class HotRequest:
    app: Litestar
    scope: HTTPScope
    headers: dict[str, str]
    body: bytes
    request_id: str
    param: str  # the path's one parameter (the site key), "" where the route has none


@dataclass(slots=True)
class HotResponse:
    status: int
    body: bytes
    headers: Headers = field(default_factory=list)
    content_type: bytes = JSON


Handler = Callable[[HotRequest], Awaitable[HotResponse]]


@dataclass(frozen=True, slots=True)
class HotRoute:
    method: str
    template: str  # litestar's path template: the latency histogram's route label
    handler: Handler
    max_body: int | None = None  # None: the app's request_max_body_size
    limited: bool = False  # counted by the public rate limiter (the tag's endpoints), whatever the method


def json_body(body: bytes, content_type: str) -> bytes:
    """the body for a strict typed decode, or Fallback where app.lib.request_guard would have a say (deep
    nesting, a NUL) or litestar reads the body otherwise (a form): those answers stay litestar's."""
    if not body or b"\\u0000" in body or json_depth_exceeds(body) or content_type.startswith("application/x-www"):
        raise Fallback
    return body


def strict_decode(decoder: msgspec.json.Decoder[Any], body: bytes, content_type: str) -> Any:
    try:
        return decoder.decode(json_body(body, content_type))
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        raise Fallback from exc


def problem_body(status: int, title: str, detail: str, field_name: str | None = None) -> bytes:
    errors = [FieldError(field=field_name, message=detail)] if field_name else []
    return _encode(Problem(type="about:blank", title=title, status=status, detail=detail, errors=errors))


def _replay(body: bytes, more: bool, receive: Receive) -> Receive:
    pending: list[Any] = [{"type": "http.request", "body": body, "more_body": more}]

    async def again() -> Any:
        if pending:
            return pending.pop()
        return await receive()

    return again


class HotPaths:
    """the lean routes of one app: exact paths, and /p/{site_key}/{d|e} for the tag."""

    def __init__(
        self,
        exact: dict[str, HotRoute],
        tag: dict[str, HotRoute],
        *,
        production: bool,
        max_body: int,
        limiter: WindowLimiter | None = None,
    ) -> None:
        self.exact = exact
        self.tag = tag
        self.max_body = max_body
        self.limiter = limiter
        self.security = api_headers(production)
        # prometheus children looked up once per (method, route, status), not per request
        self._latency: dict[tuple[str, str, int], Any] = {}
        # requests answered here and handed to litestar: tests check which side answered
        self.answered = 0
        self.handed_back = 0

    def match(self, path: str) -> tuple[HotRoute, str] | None:
        route = self.exact.get(path)
        if route is not None:
            return route, ""
        if path.startswith("/p/"):
            parts = path.split("/")
            if len(parts) == 4 and parts[2] and (route := self.tag.get(parts[3])) is not None:
                return route, parts[2]
        return None

    def latency(self, method: str, route: str, status: int) -> Any:
        key = (method, route, status)
        child = self._latency.get(key)
        if child is None:
            child = self._latency[key] = HTTP_LATENCY.labels(method, route, str(status))
        return child

    async def serve(
        self,
        app: Litestar,
        route: HotRoute,
        param: str,
        scope: HTTPScope,
        receive: Receive,
        send: Send,
        fallback: Callable[[Scope, Receive, Send], Awaitable[None]],
    ) -> None:
        started = time.perf_counter()
        headers: dict[str, str] = {}
        for name, value in scope["headers"]:
            key = name.decode("latin-1")
            if key not in headers:  # the first of repeated headers, as litestar's headers.get answers
                headers[key] = value.decode("latin-1")
        given = headers.get("x-request-id")
        request_id = given if given is not None and _SANE.match(given.encode("latin-1")) else random_hex()
        tokens = _bind(request_id=request_id)
        try:
            replay = await self._serve(app, route, param, scope, receive, send, headers, request_id, started)
        finally:
            _reset(**tokens)
        if replay is not None:
            self.handed_back += 1
            await fallback(scope, replay, send)

    async def _serve(
        self,
        app: Litestar,
        route: HotRoute,
        param: str,
        scope: HTTPScope,
        receive: Receive,
        send: Send,
        headers: dict[str, str],
        request_id: str,
        started: float,
    ) -> Receive | None:
        """answers the request, or returns the receive to hand litestar (the body read so far replayed)."""
        extra: Headers = []
        if route.limited and self.limiter is not None:
            client = scope.get("client")
            allowed, extra = self.limiter.hit(f"{param}:{client[0] if client else '127.0.0.1'}")
            if not allowed:
                body = problem_body(429, "Too many requests", "Too Many Requests")
                await self._answer(send, scope, route, request_id, HotResponse(429, body, extra, _PROBLEM), started)
                return None
        if scope["method"] != route.method:
            return receive
        limit = self.max_body if route.max_body is None else route.max_body
        declared = headers.get("content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            return receive
        body = b""
        more = True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                return None  # the client went away
            body += message.get("body", b"")
            more = message.get("more_body", False)
            if len(body) > limit:
                return _replay(body, more, receive)
        try:
            response = await route.handler(HotRequest(app, scope, headers, body, request_id, param))
        except Fallback:
            return _replay(body, False, receive)
        except DomainError as exc:
            # the app's after_exception hooks see the error as they would in litestar (a refused origin is noted)
            scope["app"] = scope["litestar_app"] = app
            for hook in app.after_exception:
                await hook(exc, scope)
            problem = problem_body(exc.status_code, exc.title, exc.message, exc.field)
            response = HotResponse(exc.status_code, problem, [], _PROBLEM)
        except Exception:
            error_log.exception("unhandled error", path=scope["path"])
            detail = "something went wrong on our side; it was logged"
            response = HotResponse(500, problem_body(500, "Internal error", detail), [], _PROBLEM)
        if extra:
            response.headers += extra
        await self._answer(send, scope, route, request_id, response, started)
        return None

    async def _answer(
        self, send: Send, scope: HTTPScope, route: HotRoute, request_id: str, response: HotResponse, started: float
    ) -> None:
        status = response.status
        body = response.body
        start: HTTPResponseStartEvent = {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", response.content_type),
                (b"content-length", str(len(body)).encode()),
                *response.headers,
                (HEADER, request_id.encode()),
                *self.security,
            ],
        }
        await send(start)
        self.answered += 1
        answer: HTTPResponseBodyEvent = {"type": "http.response.body", "body": body, "more_body": False}
        await send(answer)
        seconds = time.perf_counter() - started
        method = scope["method"]
        self.latency(method, route.template, status).observe(seconds)
        path = scope["path"]
        if not path.startswith(_QUIET_PREFIXES):
            level = _ERROR if status >= 500 else _DEBUG if status < 400 and path.startswith(_HOT_PATHS) else _INFO
            access_log.log(
                level,
                "request",
                method=method,
                path=path,
                route=route.template,
                status=status,
                duration_ms=round(seconds * 1000, 2),
            )


_HEALTHY = _encode({"status": "ok"})


async def healthz(_: HotRequest) -> HotResponse:
    return HotResponse(200, _HEALTHY)


HEALTHZ = HotRoute("GET", "/healthz", healthz)


class LeanLitestar(Litestar):
    """litestar, with the lean routes of `hot` answered before its router (None: litestar answers all)."""

    hot: HotPaths | None = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        hot = self.hot
        if hot is not None and scope["type"] == "http" and (matched := hot.match(scope["path"])) is not None:
            await hot.serve(self, matched[0], matched[1], scope, receive, send, super().__call__)
            return
        await super().__call__(scope, receive, send)
