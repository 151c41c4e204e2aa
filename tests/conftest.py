"""test stores: a fresh database and redis key prefix per run, on real servers.

TEST_DATABASE_URL / TEST_REDIS_URL point at servers to use (an admin database url: the run creates and drops
its own `levers_test_<random>` database). Without them, an embedded postgres and redis are started.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import tempfile
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import urlparse, urlunparse

import pytest
from redis.asyncio import Redis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from app.settings import Settings

RUN_ID = secrets.token_hex(4)


def _with_database(url: str, database: str) -> str:
    parsed = urlparse(url.replace("postgresql+asyncpg://", "postgresql://").replace("postgres://", "postgresql://"))
    return urlunparse(parsed._replace(scheme="postgresql+asyncpg", path=f"/{database}"))


_SUITE_ORDER = {"unit": 0, "integration": 1, "e2e": 2}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """fast suites first; browser suites last, after every async test has used the event loop."""

    def suite(item: pytest.Item) -> int:
        parts = item.nodeid.split("/")
        return _SUITE_ORDER.get(parts[1], 1) if len(parts) > 2 and parts[0] == "tests" else 1

    items.sort(key=suite)


def run_isolated(function: Callable[[], Any]) -> Any:
    """runs function in its own thread, so its event loop never meets one already running in this thread
    (playwright's sync api keeps one running while the browser is open)."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(function).result()


@pytest.fixture(scope="session")
def store_urls() -> Iterator[tuple[str, str]]:
    admin_url = os.environ.get("TEST_DATABASE_URL", "")
    redis_url = os.environ.get("TEST_REDIS_URL", "")
    if admin_url and redis_url:
        yield admin_url, redis_url
        return
    from app.lib.embedded import embedded_stores

    with (
        tempfile.TemporaryDirectory(prefix="levers-test-") as data_dir,
        embedded_stores(Path(data_dir), need_postgres=not admin_url, need_redis=not redis_url) as env,
    ):
        yield admin_url or env["DATABASE_URL"], redis_url or env["REDIS_URL"]


@pytest.fixture(scope="session")
def settings(store_urls: tuple[str, str]) -> Iterator[Settings]:
    admin_url, redis_url = store_urls
    database = f"levers_test_{RUN_ID}"
    admin = _with_database(admin_url, urlparse(admin_url).path.lstrip("/") or "postgres")

    async def create() -> None:
        engine = create_async_engine(admin, isolation_level="AUTOCOMMIT")
        async with engine.connect() as conn:
            await conn.execute(text(f'create database "{database}"'))
        await engine.dispose()

    async def drop() -> None:
        engine = create_async_engine(admin, isolation_level="AUTOCOMMIT")
        async with engine.connect() as conn:
            await conn.execute(text(f'drop database if exists "{database}" with (force)'))
        await engine.dispose()

    run_isolated(lambda: asyncio.run(create()))
    from app.lib.migrations import upgrade

    url = _with_database(admin_url, database)
    run_isolated(lambda: upgrade(url))
    yield Settings(
        env="test",
        database_url=url,
        redis_url=redis_url,
        secret_key=secrets.token_urlsafe(32),
        redis_prefix=f"levers_test_{RUN_ID}:",
        stream_shards=2,
        cache_refresh_seconds=0.1,
        # the suite registers and logs in hundreds of users from one address; throttle tests set their own
        auth_rate_limit_per_minute=100_000,
        data_dir=Path(tempfile.gettempdir()) / f"levers-test-{RUN_ID}",
    )
    run_isolated(lambda: asyncio.run(drop()))
    run_isolated(lambda: asyncio.run(_forget_prefix(redis_url, f"levers_test_{RUN_ID}:")))


async def _forget_prefix(redis_url: str, prefix: str) -> None:
    redis = Redis.from_url(redis_url)
    async for key in redis.scan_iter(match=f"{prefix}*", count=1000):
        await redis.delete(key)
    await redis.aclose()


def scoped(settings: Settings, name: str) -> Settings:
    """settings with their own redis prefix, for a test that needs streams nobody else writes to."""
    return replace(settings, redis_prefix=f"{settings.redis_prefix}{name}:")


@pytest.fixture
async def redis(settings: Settings) -> AsyncIterator[Redis]:
    client = Redis.from_url(settings.redis_url)
    yield client
    await client.aclose()
