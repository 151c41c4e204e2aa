"""alembic, driven from code so `levers db upgrade`, `levers dev` and the tests share one path; and the wait
for the schema that web and worker do before they start."""

from __future__ import annotations

import asyncio
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol

import structlog
from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine
from sqlalchemy.pool import NullPool

from app.lib.logging import configure_logging
from app.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
log = structlog.get_logger(__name__)


class Logger(Protocol):
    def info(self, event: str, **fields: Any) -> Any: ...

    def warning(self, event: str, **fields: Any) -> Any: ...


def alembic_config(database_url: str) -> Config:
    config = Config(str(ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(ROOT / "migrations"))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(database_url), revision)


def script_directory() -> ScriptDirectory:
    return ScriptDirectory.from_config(alembic_config("postgresql+asyncpg://"))


@lru_cache(maxsize=1)
def head_revision() -> str | None:
    return script_directory().get_current_head()


@lru_cache(maxsize=1)
def known_revisions() -> frozenset[str]:
    return frozenset(script.revision for script in script_directory().walk_revisions())


async def current_revision(conn: AsyncConnection) -> str | None:
    try:
        return await conn.scalar(text("select version_num from alembic_version"))
    except Exception:
        return None


async def wait_for_schema(
    database_url: str,
    *,
    role: str,
    wait_while_unreachable: bool = True,
    first_delay: float = 0.5,
    max_delay: float = 10.0,
    logger: Logger = log,
) -> str | None:
    """returns once the database's schema is at this code's head, backing off and logging each attempt.

    render runs `levers db upgrade` in the web's pre-deploy step only: the worker (or a web instance that
    restarts) can start while a new migration is still pending, and would fail on the missing tables. a schema
    at a revision this code doesn't know is newer (an instance of the previous release restarting after the
    next one migrated): it starts anyway. `wait_while_unreachable=False` starts without a reachable database:
    the web serves the tag from redis and memory while postgres is away."""
    head = head_revision()
    engine = create_async_engine(database_url, poolclass=NullPool)
    delay, attempt = first_delay, 0
    try:
        while True:
            attempt += 1
            try:
                async with engine.connect() as conn:
                    current = await current_revision(conn)
            except (OSError, SQLAlchemyError) as exc:
                if not wait_while_unreachable:
                    logger.warning("database unreachable, starting without checking its schema", role=role)
                    return None
                logger.warning(
                    "waiting for the database",
                    role=role,
                    attempt=attempt,
                    error=f"{type(exc).__name__}: {exc}".splitlines()[0],
                    retry_in=delay,
                )
            else:
                if current == head:
                    if attempt > 1:
                        logger.info("database schema is at head, starting", role=role, revision=head)
                    return current
                if current is not None and current not in known_revisions():
                    logger.warning(
                        "database schema is at a revision this release doesn't know (a newer one?), starting",
                        role=role,
                        current=current,
                        expected=head,
                    )
                    return current
                logger.warning(
                    "waiting for database migrations (levers db upgrade)",
                    role=role,
                    attempt=attempt,
                    current=current or "none",
                    expected=head,
                    retry_in=delay,
                )
            await asyncio.sleep(delay)
            delay = min(delay * 2, max_delay)
    finally:
        await engine.dispose()


def wait_for_schema_before_serving(settings: Settings) -> None:
    """`levers serve`, once before uvicorn starts its processes: a web instance that (re)starts while a
    migration is pending waits for it; without a reachable postgres it starts anyway."""
    configure_logging(settings)
    asyncio.run(wait_for_schema(settings.async_database_url, role="web", wait_while_unreachable=False))
