from __future__ import annotations

import asyncio
import hmac
from typing import Any

from litestar import Controller, Request, Response, get
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.openapi.datastructures import ResponseSpec
from prometheus_client import CONTENT_TYPE_LATEST
from sqlalchemy import text

from app.lib.migrations import current_revision, head_revision
from app.lib.openapi import problem_responses


class HealthController(Controller):
    tags = ["system"]
    include_in_schema = True

    @get("/healthz", exclude_from_auth=True, responses=problem_responses())
    async def healthz(self) -> dict[str, str]:
        """Liveness: the process answers; it checks no store."""
        return {"status": "ok"}

    @get(
        "/readyz",
        exclude_from_auth=True,
        responses={
            503: ResponseSpec(
                dict[str, Any], description="Postgres or Redis is unreachable, or migrations are behind."
            ),
            **problem_responses(),
        },
    )
    async def readyz(self, request: Request[Any, Any, Any]) -> Response[dict[str, Any]]:
        """Readiness: Postgres and Redis answer and the schema is at the latest migration; `checks` says which not."""
        checks: dict[str, str] = {}
        state = request.app.state
        try:
            async with state.database.connect() as conn:
                await asyncio.wait_for(conn.execute(text("select 1")), 2.0)
                revision = await current_revision(conn)
            checks["postgres"] = "ok"
            checks["migrations"] = "ok" if revision == head_revision() else f"at {revision}, head is {head_revision()}"
        except Exception as exc:
            checks["postgres"] = f"error: {type(exc).__name__}"
        try:
            await state.store.ping()
            checks["redis"] = "ok"
        except Exception as exc:
            checks["redis"] = f"error: {type(exc).__name__}"
        ready = all(v == "ok" for v in checks.values())
        return Response(
            {"status": "ready" if ready else "not ready", "checks": checks}, status_code=200 if ready else 503
        )

    @get(
        "/metrics",
        exclude_from_auth=True,
        media_type="text/plain",
        responses=problem_responses(401, s401="METRICS_TOKEN is set and this request does not carry it as a bearer."),
    )
    async def metrics(self, request: Request[Any, Any, Any]) -> Response[bytes]:
        """Prometheus metrics of the service and its experiments; needs the bearer METRICS_TOKEN when one is set."""
        state = request.app.state
        token = state.settings.metrics_token
        if token:
            given = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
            if not hmac.compare_digest(given.encode(), token.encode()):
                raise NotAuthorizedException("a bearer METRICS_TOKEN is required")
        elif state.settings.is_production and not state.settings.metrics_public:
            # the series name every tenant's experiments: production serves them only to who holds the token
            raise PermissionDeniedException("set METRICS_TOKEN (or METRICS_PUBLIC=1 behind a private network)")
        body = await state.store.metrics(list(state.hot_cache.experiments.values()))
        return Response(body, media_type=CONTENT_TYPE_LATEST)
