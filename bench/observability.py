"""what observability costs per request: request id, access log line, latency histogram.

drives a minimal litestar app's asgi callable directly (no sockets), with a trivial handler, so the figures are
the middleware's own cost. run: uv run python bench/observability.py
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from typing import Any

import structlog
from litestar import Litestar, get
from litestar.plugins.prometheus import PrometheusConfig

from app.lib.observability import RequestObservability, ensure_request_id_header

N = 5000
ROUNDS = 5


@get("/api/v1/select", sync_to_thread=False)
def handler() -> dict[str, str]:
    return {"ok": "1"}


def make_app(middleware: list[Any], before_send: list[Any]) -> Litestar:
    return Litestar([handler], middleware=middleware, before_send=before_send, logging_config=None)


async def run(app: Litestar) -> float:
    scope: dict[str, Any] = {
        "type": "http",
        "http_version": "1.1",
        "method": "GET",
        "path": "/api/v1/select",
        "raw_path": b"/api/v1/select",
        "root_path": "",
        "scheme": "http",
        "query_string": b"",
        "headers": [(b"host", b"bench"), (b"x-request-id", b"bench-1")],
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80),
    }

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        pass

    async with app.lifespan():
        for _ in range(500):
            await app(dict(scope), receive, send)  # type: ignore[arg-type]
        started = time.perf_counter()
        for _ in range(N):
            await app(dict(scope), receive, send)  # type: ignore[arg-type]
        return (time.perf_counter() - started) / N * 1e6


def configure(level: int) -> None:
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.JSONRenderer(),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.PrintLoggerFactory(file=open(os.devnull, "w")),  # noqa: SIM115
        cache_logger_on_first_use=False,
    )


async def main() -> None:
    # litestar's own prometheus middleware, for comparison (what levers used first)
    litestar_metrics = PrometheusConfig(app_name="bench", prefix="bench", group_path=True).middleware
    apps = {
        "bare handler": (make_app([], []), logging.INFO),
        "levers' middleware (id, log off, latency)": (
            make_app([RequestObservability()], [ensure_request_id_header]),
            logging.WARNING,
        ),
        "levers' middleware, access log at info": (
            make_app([RequestObservability()], [ensure_request_id_header]),
            logging.DEBUG,
        ),
        "litestar's PrometheusMiddleware alone": (make_app([litestar_metrics], []), logging.WARNING),
    }
    # interleaved rounds, best of each: the machine is shared, so the minimum is the least disturbed figure
    best = dict.fromkeys(apps, float("inf"))
    for _ in range(ROUNDS):
        for name, (app, level) in apps.items():
            configure(level)
            best[name] = min(best[name], await run(app))
    bare = best["bare handler"]
    for name, micros in best.items():
        print(f"{name:45s} {micros:7.1f} µs/request (+{micros - bare:.1f})")


if __name__ == "__main__":
    asyncio.run(main())
