"""create_app(): assembles routers, plugins and shared resources; nothing else."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import structlog
from advanced_alchemy.extensions.litestar import (
    AsyncSessionConfig,
    SQLAlchemyAsyncConfig,
    SQLAlchemyPlugin,
)
from litestar import Litestar, Router
from litestar.config.compression import CompressionConfig
from litestar.config.csrf import CSRFConfig
from litestar.middleware import DefineMiddleware
from litestar.middleware.session.client_side import CookieBackendConfig
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import Components, SecurityScheme
from litestar.plugins.htmx import HTMXPlugin
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.template.config import TemplateConfig

from app.domain.accounts.api import AuthController, PublicAuthController
from app.domain.accounts.pages import AccountPages, ApiKeyPages
from app.domain.accounts.recovery_pages import DevMailboxPages, RecoveryPages
from app.domain.decisions.api import DecisionController
from app.domain.decisions.fast import ROUTES as DECISION_ROUTES
from app.domain.decisions.services import DecisionService
from app.domain.experiments.api import ExperimentController
from app.domain.experiments.editor_pages import ExperimentEditorPages
from app.domain.experiments.lifecycle_pages import ExperimentLifecyclePages
from app.domain.experiments.pages import ExperimentPages
from app.domain.experiments.targeting_pages import TargetingPages
from app.domain.gates.api import GateController
from app.domain.gates.pages import GatePages
from app.domain.pools.api import PoolController
from app.domain.results.pages import DecisionDocPages
from app.domain.sites.api import SiteController
from app.domain.sites.install import SiteInstallPages
from app.domain.sites.pages import SitePages
from app.domain.system.api import HealthController
from app.domain.tag.api import TagController
from app.domain.tag.editor import EditorController
from app.domain.tag.fast import ROUTES as TAG_ROUTES
from app.domain.tag.origins import note_refused_origin
from app.domain.tag.services import TagService
from app.domain.team.api import TeamController
from app.domain.team.pages import InvitePages, TeamPages
from app.domain.whatif.pages import WhatIfPages
from app.lib.auth import BearerAuthMiddleware
from app.lib.errors import EXCEPTION_HANDLERS
from app.lib.heap import settle_heap
from app.lib.hot_http import HEALTHZ, HotPaths, LeanLitestar
from app.lib.logging import configure_logging
from app.lib.mail import Outbox, build_mailer
from app.lib.observability import RequestObservability, ensure_request_id_header
from app.lib.paths import NOT_PAGES
from app.lib.public_limit import WindowLimiter
from app.lib.request_guard import guard_request_body
from app.lib.security_headers import security_headers
from app.lib.static_assets import StaticAssets
from app.lib.throttle import Throttle
from app.lib.tokens import AccessTokens, SelectionTokens
from app.runtime.editing import EditingStore
from app.runtime.events import EventWriter
from app.runtime.hotcache import HotCache
from app.runtime.publish import Publisher
from app.runtime.redis import create_redis, redis_keys
from app.settings import Settings, get_settings

ROOT = Path(__file__).resolve().parents[1]
log = structlog.get_logger(__name__)


HOT_PATHS = ["^/api/v1/select$", "^/api/v1/feedback$", "^/p/"]


def create_app(settings: Settings | None = None) -> Litestar:
    settings = settings or get_settings()
    configure_logging(settings)
    db_config = SQLAlchemyAsyncConfig(
        connection_string=settings.async_database_url,
        before_send_handler="autocommit_include_redirects",
        session_config=AsyncSessionConfig(expire_on_commit=False),
        engine_app_state_key="db_engine",
        create_all=False,
    )

    @asynccontextmanager
    async def resources(app: Litestar) -> AsyncIterator[None]:
        redis = create_redis(settings)
        # the hot path gets its own connections with a short timeout: a slow redis must not hold requests long
        hot_redis = create_redis(settings, socket_timeout=0.5)
        keys = redis_keys(settings)
        cache = HotCache(redis, keys, settings.cache_refresh_seconds)
        writer = EventWriter(hot_redis, keys)
        publisher = Publisher(redis, keys, after_change=cache.refresh)
        decisions = DecisionService(cache, writer, SelectionTokens(settings.secret_key, settings.token_ttl_seconds))
        mailer = build_mailer(settings, redis, keys.prefix)
        outbox = Outbox(mailer)
        app.state.update(
            # the engine by a fixed name: advanced-alchemy renames its own state key for every further app
            # built in one process (tests build several)
            database=db_config.get_engine(),
            settings=settings,
            redis=redis,
            redis_keys=keys,
            hot_cache=cache,
            publisher=publisher,
            store=publisher.store,
            access_tokens=AccessTokens(settings.secret_key, settings.jwt_ttl_seconds),
            decisions=decisions,
            tag=TagService(decisions),
            editing=EditingStore(redis, keys),
            throttle=Throttle(
                redis, keys, settings.auth_rate_limit_per_minute, free_failures=settings.auth_free_failures
            ),
            mailer=mailer,
            outbox=outbox,
        )

        async def republish() -> None:
            # no after_change: this runs inside the cache's own refresh
            async with db_config.get_session() as session:
                await Publisher(redis, keys).everything(session)

        # when redis loses the configuration, the cache rebuilds it from postgres instead of serving nothing
        cache.republish = republish
        try:
            if not await redis.exists(keys.config_version):
                async with db_config.get_session() as session:
                    await app.state.publisher.everything(session)
            await cache.refresh()
        except Exception as exc:  # the app still starts; the cache retries in the background
            log.warning("startup refresh failed", error=str(exc))
        cache.start()
        try:
            yield
        finally:
            await outbox.drain()
            await cache.stop()
            await hot_redis.aclose()
            await redis.aclose()
            # the sqlalchemy plugin's lifespan was entered after this one, so it disposed the engine before the
            # cache stopped; a republish from that last stretch would leave its pooled connection open
            await db_config.get_engine().dispose()

    api_router = Router(
        path="/api/v1",
        route_handlers=[
            PoolController,
            ExperimentController,
            SiteController,
            DecisionController,
            TeamController,
            GateController,
        ],
        middleware=[DefineMiddleware(BearerAuthMiddleware)],
        security=[{"bearer": []}],
    )
    auth_router = Router(
        path="/",
        route_handlers=[AuthController],
        middleware=[DefineMiddleware(BearerAuthMiddleware, exclude=["/auth/register", "/auth/login"])],
        security=[{"bearer": []}],
    )
    # the tag's endpoints are rate limited per site and client address in front of the router (HotPaths)
    public_router = Router(path="/", route_handlers=[TagController, EditorController])
    # css and js under content-hashed names, cached for a year (app.lib.static_assets)
    assets = StaticAssets(ROOT / "frontend" / "static")
    session_secret = hashlib.sha256(b"levers-session:" + settings.secret_key.encode()).digest()
    # the development mailbox shows reset links to anyone who can reach it: never where real mail goes out
    dev_pages = [] if settings.is_production or settings.smtp_host else [DevMailboxPages]

    app = LeanLitestar(
        route_handlers=[
            api_router,
            auth_router,
            PublicAuthController,
            public_router,
            HealthController,
            AccountPages,
            RecoveryPages,
            *dev_pages,
            ExperimentPages,
            WhatIfPages,
            ExperimentEditorPages,
            ExperimentLifecyclePages,
            TargetingPages,
            DecisionDocPages,
            SitePages,
            SiteInstallPages,
            GatePages,
            ApiKeyPages,
            TeamPages,
            InvitePages,
            assets.handler(),
        ],
        lifespan=[resources],
        plugins=[SQLAlchemyPlugin(config=db_config), HTMXPlugin()],
        middleware=[
            RequestObservability(),
            CookieBackendConfig(
                secret=session_secret,
                secure=settings.is_production,
                samesite="lax",
                max_age=7 * 24 * 3600,
                exclude=list(NOT_PAGES),
            ).middleware,
        ],
        csrf_config=CSRFConfig(
            secret=settings.secret_key,
            cookie_secure=settings.is_production,
            cookie_samesite="lax",
            exclude=list(NOT_PAGES),
        ),
        template_config=TemplateConfig(
            directory=ROOT / "frontend" / "templates", engine=JinjaTemplateEngine, engine_callback=assets.install
        ),
        exception_handlers=EXCEPTION_HANDLERS,
        # a tag request refused for its origin is noted for the site page (rate-limited, bounded)
        after_exception=[note_refused_origin],
        openapi_config=OpenAPIConfig(
            title="Levers",
            version="0.1.0",
            path="/schema",
            # each handler's one-line docstring is its description
            use_handler_docstrings=True,
            components=Components(security_schemes={"bearer": SecurityScheme(type="http", scheme="bearer")}),
        ),
        request_max_body_size=settings.max_body_bytes,
        # brotli where the client accepts it (the tag: 12.4 KB raw, 5.0 KB brotli, 5.2 KB gzip), else gzip; not on
        # the small, hot decision answers, where compressing costs more cpu than it saves bytes, nor on static
        # files, which go out compressed once and for all (app.lib.static_assets)
        compression_config=CompressionConfig(
            backend="brotli", brotli_quality=5, brotli_gzip_fallback=True, exclude=[*HOT_PATHS, "^/static/"]
        ),
        # nul characters, absurd nesting and values that only pass by coercion are refused before any handler
        # decodes or stores them (app.lib.request_guard)
        before_request=guard_request_body,
        debug=False,
        # logging is configured once by configure_logging (structlog; json in production), not by litestar
        logging_config=None,
        before_send=[
            ensure_request_id_header,
            security_headers(settings.is_production),  # type: ignore[list-item]
            # a page that carried its css inline tells the browser it now has that version (app.lib.static_assets)
            assets.css_cookie_hook(secure=settings.is_production),
        ],
    )
    # select, feedback, the tag's decide and events and /healthz answered without litestar's per-request
    # machinery; litestar keeps their docs and answers what they hand back (app.lib.hot_http)
    app.hot = HotPaths(
        {**DECISION_ROUTES, "/healthz": HEALTHZ},
        TAG_ROUTES,
        production=settings.is_production,
        max_body=settings.max_body_bytes,
        limiter=WindowLimiter(settings.public_rate_limit_per_minute),
    )
    return app


def create_served_app(settings: Settings | None = None) -> Litestar:
    """the app as `levers serve` runs it: create_app(), and once it has started, its heap settled for serving
    (app.lib.heap). tests build many apps in one process and keep the interpreter's defaults."""
    app = create_app(settings)
    app.on_startup.append(settle_heap)
    return app
