"""a fresh, empty postgres database on the test server, for tests that watch what happens before migrating."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import urlparse, urlunparse

from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from app.settings import Settings


def _admin_url(settings: Settings) -> str:
    # the run's own database is on the server: its maintenance database `postgres` creates others
    parsed = urlparse(settings.async_database_url)
    return urlunparse(parsed._replace(path="/postgres"))


@asynccontextmanager
async def empty_database(settings: Settings, label: str) -> AsyncIterator[str]:
    """yields the asyncpg url of a new database with no tables; drops it afterwards."""
    name = f"{urlparse(settings.async_database_url).path.lstrip('/')}_{label}_{secrets.token_hex(3)}"
    admin = create_async_engine(_admin_url(settings), isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as conn:
            await conn.execute(text(f'create database "{name}"'))
        try:
            yield urlunparse(urlparse(settings.async_database_url)._replace(path=f"/{name}"))
        finally:
            async with admin.connect() as conn:
                await conn.execute(text(f'drop database if exists "{name}" with (force)'))
    finally:
        await admin.dispose()
