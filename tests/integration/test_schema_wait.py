"""web and worker wait for the schema to reach alembic's head: render migrates in the web's pre-deploy step
only, so on a first deploy (or one that adds a migration) the worker can start on tables that aren't there."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from redis.asyncio import Redis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from app.lib.migrations import head_revision, script_directory, upgrade, wait_for_schema
from app.runtime.keys import RedisKeys
from app.settings import Settings
from tests.conftest import scoped
from tests.support.databases import empty_database
from tests.support.processes import free_port, process_env, start, stop

DEADLINE = 60.0
MIGRATIONS_PENDING = "waiting for database migrations (levers db upgrade)"


class Recorder:
    """stands in for the structlog logger: what the wait said, in order."""

    def __init__(self) -> None:
        self.events: list[tuple[str, str, dict[str, Any]]] = []

    def info(self, event: str, **fields: Any) -> None:
        self.events.append(("info", event, fields))

    def warning(self, event: str, **fields: Any) -> None:
        self.events.append(("warning", event, fields))

    def said(self, event: str) -> list[dict[str, Any]]:
        return [fields for _, name, fields in self.events if name == event]


async def until(condition: Callable[[], bool], what: str) -> None:
    # a deadline only so a broken wait fails instead of hanging; nothing here measures time
    deadline = time.monotonic() + DEADLINE
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"never saw: {what}")
        await asyncio.sleep(0.02)


def history() -> list[str]:
    """revisions from the first to head."""
    return [script.revision for script in reversed(list(script_directory().walk_revisions()))]


async def test_waits_on_an_empty_database_until_it_reaches_head(settings: Settings) -> None:
    head = head_revision()
    async with empty_database(settings, "wait") as url:
        said = Recorder()
        waiting = asyncio.create_task(
            wait_for_schema(url, role="worker", first_delay=0.02, max_delay=0.08, logger=said)
        )
        await until(lambda: len(said.said(MIGRATIONS_PENDING)) >= 4, "four attempts")
        assert not waiting.done()
        attempts = said.said(MIGRATIONS_PENDING)
        assert [a["attempt"] for a in attempts[:4]] == [1, 2, 3, 4]
        assert [a["retry_in"] for a in attempts[:4]] == [0.02, 0.04, 0.08, 0.08]  # doubling, then capped
        assert {(a["current"], a["expected"], a["role"]) for a in attempts} == {("none", head, "worker")}

        # part-way there is still waiting, and the log says where the schema is
        first = history()[0]
        if first != head:
            await asyncio.to_thread(upgrade, url, first)
            await until(lambda: any(a["current"] == first for a in said.said(MIGRATIONS_PENDING)), "partly migrated")
            assert not waiting.done()

        await asyncio.to_thread(upgrade, url)
        assert await asyncio.wait_for(waiting, 60) == head
        assert said.events[-1] == ("info", "database schema is at head, starting", {"role": "worker", "revision": head})


async def test_a_migrated_database_starts_at_once_and_silently(settings: Settings) -> None:
    said = Recorder()
    assert await wait_for_schema(settings.async_database_url, role="web", logger=said) == head_revision()
    assert said.events == []


async def test_a_revision_this_release_does_not_know_is_newer_and_starts(settings: Settings) -> None:
    # an instance of the previous release restarting after the next release migrated must not wait forever
    async with empty_database(settings, "newer") as url:
        engine = create_async_engine(url)
        async with engine.begin() as conn:
            await conn.execute(text("create table alembic_version (version_num varchar(32) primary key)"))
            await conn.execute(text("insert into alembic_version values ('9999_from_the_future')"))
        await engine.dispose()
        said = Recorder()
        assert await wait_for_schema(url, role="web", logger=said) == "9999_from_the_future"
        (warning,) = [fields for level, _, fields in said.events if level == "warning"]
        assert warning["current"] == "9999_from_the_future" and warning["expected"] == head_revision()


async def test_an_unreachable_database_the_worker_waits_the_web_starts() -> None:
    url = f"postgresql+asyncpg://levers@127.0.0.1:{free_port()}/levers"  # nothing listens there
    said = Recorder()
    assert await wait_for_schema(url, role="web", wait_while_unreachable=False, logger=said) is None
    assert [event for _, event, _ in said.events] == ["database unreachable, starting without checking its schema"]

    said = Recorder()
    waiting = asyncio.create_task(wait_for_schema(url, role="worker", first_delay=0.02, max_delay=0.04, logger=said))
    await until(lambda: len(said.said("waiting for the database")) >= 2, "two attempts")
    assert not waiting.done()
    assert "refused" in said.said("waiting for the database")[0]["error"].lower()
    waiting.cancel()
    await asyncio.gather(waiting, return_exceptions=True)


def _lines(log: Path) -> list[dict[str, Any]]:
    lines = []
    for line in log.read_text().splitlines():
        try:
            lines.append(json.loads(line))
        except ValueError:
            lines.append({"event": line})
    return lines


async def test_the_worker_process_waits_for_the_migration_then_works(
    settings: Settings, redis: Redis, tmp_path: Path
) -> None:
    """the render first deploy: the worker starts on an empty database (it used to exit 1 on
    UndefinedTableError), waits, and starts working once `levers db upgrade` has run."""
    worker_settings = scoped(settings, "schema-wait")
    keys = RedisKeys(worker_settings.redis_prefix, worker_settings.stream_shards)
    log = tmp_path / "worker.log"
    async with empty_database(settings, "worker") as url:
        env = process_env(worker_settings, DATABASE_URL=url, LOG_LEVEL="INFO", LOG_JSON="1")
        worker = start(["worker"], env, log)
        try:
            waits = lambda: [e for e in _lines(log) if e.get("event") == MIGRATIONS_PENDING]  # noqa: E731
            await until(lambda: len(waits()) >= 2 or worker.poll() is not None, "the worker waiting twice")
            assert worker.poll() is None, log.read_text()
            assert waits()[0]["current"] == "none" and waits()[0]["expected"] == head_revision()
            assert not await redis.exists(keys.config_version)  # it has not started: nothing published

            await asyncio.to_thread(upgrade, url)
            # started: its startup publishes the (empty) configuration from postgres to redis
            deadline = time.monotonic() + DEADLINE
            while not await redis.exists(keys.config_version):
                assert worker.poll() is None, log.read_text()
                assert time.monotonic() < deadline, log.read_text()
                await asyncio.sleep(0.05)
            assert any(e.get("event") == "database schema is at head, starting" for e in _lines(log))
            assert worker.poll() is None
        finally:
            stop(worker)
    assert "UndefinedTable" not in log.read_text() and "Traceback" not in log.read_text()
