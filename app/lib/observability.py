"""one middleware for what every request leaves behind: its id, its log line and its latency.

the request id is the caller's X-Request-ID when it is sane, else a new one. it is echoed in the response
header, bound to the structured logs of the request, and normalised in the request's headers so handlers
(select / feedback put it on the events they write) see the same value; the worker logs it for each event it
trains. latency goes to a histogram per route template (never the raw path: ids would explode the series).

one middleware rather than litestar's PrometheusMiddleware beside a request-id one: on the hot path each
costs tens of microseconds (bench/observability.py), and this one already has the route, status and time.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Iterable
from typing import cast

import structlog
from litestar.enums import ScopeType
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, HTTPScope, Message, Receive, Scope, Send

from app.lib.metrics import HTTP_LATENCY

HEADER = b"x-request-id"
_SANE = re.compile(rb"^[A-Za-z0-9._:@/+=-]{1,64}$")
# probes and scrapes would drown the access log
_QUIET_PREFIXES = ("/healthz", "/readyz", "/metrics", "/static/")
# the hot path (thousands a second): its successes are logged at debug, like the worker's per-event lines
_HOT_PATHS = ("/api/v1/select", "/api/v1/feedback", "/p/", "/t/")

access_log = structlog.get_logger("levers.access")


def _given(headers: Iterable[tuple[bytes, bytes]]) -> bytes | None:
    for name, value in headers:
        if name == HEADER:
            return value
    return None


def request_id_from(headers: Iterable[tuple[bytes, bytes]]) -> str:
    given = _given(headers)
    return given.decode() if given is not None and _SANE.match(given) else uuid.uuid4().hex


class RequestObservability(ASGIMiddleware):
    scopes = (ScopeType.HTTP,)

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        http = cast("HTTPScope", scope)  # `scopes` above lets only http requests in
        headers = http["headers"]
        given = _given(headers)
        if given is not None and _SANE.match(given):
            request_id = given.decode()
        else:
            request_id = uuid.uuid4().hex
            http["headers"] = [(n, v) for n, v in headers if n != HEADER] + [(HEADER, request_id.encode())]
        http.setdefault("state", {})["request_id"] = request_id
        status = 500
        status_started = False
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status, status_started
            if message["type"] == "http.response.start":
                status = message["status"]
                status_started = True
                message["headers"] = [*message.get("headers", []), (HEADER, request_id.encode())]
            await send(message)

        with structlog.contextvars.bound_contextvars(request_id=request_id):
            try:
                await next_app(scope, receive, send_with_id)
            except Exception as exc:
                # a middleware's refusal (401 from auth, 429 from a rate limit) passes through here on its way to
                # the app's exception handlers, before any response started: count it with its own status
                code = getattr(exc, "status_code", None)
                if not status_started and isinstance(code, int) and 400 <= code < 600:
                    status = code
                raise
            finally:
                seconds = time.perf_counter() - started
                route = http.get("path_template")
                if route is not None:
                    HTTP_LATENCY.labels(http["method"], route, str(status)).observe(seconds)
                path = http["path"]
                if not path.startswith(_QUIET_PREFIXES):
                    level = (
                        logging.ERROR
                        if status >= 500
                        else logging.DEBUG
                        if status < 400 and path.startswith(_HOT_PATHS)
                        else logging.INFO
                    )
                    access_log.log(
                        level,
                        "request",
                        method=scope.get("method"),
                        path=path,
                        route=route,
                        status=status,
                        duration_ms=round(seconds * 1000, 2),
                    )


async def ensure_request_id_header(message: Message, scope: Scope) -> None:
    """an app-level before_send hook: answers that no route handled (404, 405) carry the id too."""
    if message["type"] != "http.response.start":
        return
    headers = list(message.get("headers", []))
    if any(name.lower() == HEADER for name, _ in headers):
        return
    state = scope.get("state", {})
    request_id = state.get("request_id") or request_id_from(list(scope.get("headers", [])))
    message["headers"] = [*headers, (HEADER, request_id.encode())]
