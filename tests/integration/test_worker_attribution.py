"""a conversion is counted in its exposure's hour, however late it arrives (the arq worker, in burst mode)."""

from __future__ import annotations

import csv
import io
import time
import warnings
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from arq.worker import create_worker
from litestar import Litestar
from redis.asyncio import Redis
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

from app.db.models import ArmStatsHourly, ArmStatsMinute
from app.lib.tokens import SelectionTokens
from app.runtime.events import EventWriter
from app.runtime.records import Event
from app.settings import Settings
from app.worker.housekeeping import prune_minutes
from app.worker.settings import worker_settings
from tests.integration.conftest import Tenant
from tests.integration.pages_support import PageSession

ORIGIN = "https://shop.example"


async def run_worker(settings: Settings) -> None:
    """the real worker (its startup, cron drain and shutdown) for a few ticks, then it stops by itself."""
    worker = create_worker(worker_settings(settings), burst=True, max_burst_jobs=3, handle_signals=False)
    try:
        await worker.async_run()
    finally:
        # arq 0.28 closes its pool with redis' deprecated close(); the warning is arq's, not ours
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", "Call to deprecated close", DeprecationWarning)
            await worker.close()


async def rows(settings: Settings, model: Any, experiment_id: str) -> list[Any]:
    engine = create_async_engine(settings.async_database_url)
    async with AsyncSession(engine) as session:
        found = list(await session.scalars(select(model).where(model.experiment_id == experiment_id)))
    await engine.dispose()
    return found


async def test_a_late_conversion_lands_in_its_exposures_hour(
    settings: Settings, tenant: Tenant, app: Litestar, redis: Redis
) -> None:
    site = (await tenant.post("/api/v1/sites", {"name": "shop", "allowed_origins": [ORIGIN]}, 201)).json()
    experiment = await tenant.experiment(key="hero", site_id=site["id"], reward_mode="conversion")
    eid = experiment["id"]
    organization = (await tenant.get("/auth/me", 200)).json()["organization_id"]
    tokens: SelectionTokens = app.state.decisions.tokens
    writer = EventWriter(redis, app.state.redis_keys)
    # two visitors exposed in hour h (two hours ago) on arm 1; they convert now, in hour h+2
    hour_h = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=2)
    issued = hour_h.timestamp() + 25 * 60
    issued_tokens = []
    for visitor in ("v1", "v2"):
        token, claims = tokens.issue(
            tenant=organization,
            experiment=eid,
            arm=1,
            visitor=visitor,
            propensity=0.5,
            ttl_seconds=24 * 3600,
            now=issued,
        )
        issued_tokens.append(token)
        if visitor == "v1":
            # what the select endpoint wrote back then
            await writer.exposure(
                Event(kind="x", experiment=eid, arm=1, reward=0.0, trials=1, ts=issued, nonce=claims.n, issued=issued)
            )
    # one conversion through the rest api; one through the browser tag, whose exposure the tag reports itself
    # (a tag conversion needs its recorded exposure); arriving late, it still belongs to the token's hour
    await tenant.post("/api/v1/feedback", {"selection_token": issued_tokens[0], "reward": 1}, 202)
    tag = await tenant.client.post(
        f"/p/{site['public_key']}/e",
        content=b'{"e": [{"k": "x", "t": "%s"}, {"k": "c", "t": "%s", "g": "buy"}]}'
        % (issued_tokens[1].encode(), issued_tokens[1].encode()),
        headers={"content-type": "text/plain;charset=UTF-8", "origin": ORIGIN},
    )
    assert tag.status_code == 202 and tag.json()["accepted"] == 2, tag.text
    assert datetime.now(UTC) - hour_h >= timedelta(hours=2)  # the conversions arrived in hour h+2 or later

    await run_worker(settings)

    hourly = await rows(settings, ArmStatsHourly, eid)
    assert [(r.hour, r.arm_index, r.exposures, r.feedbacks, r.reward_sum) for r in hourly] == [(hour_h, 1, 2, 2, 2.0)]
    minutes = await rows(settings, ArmStatsMinute, eid)
    minute = datetime.fromtimestamp(issued - issued % 60, tz=UTC)
    assert [(r.minute, r.arm_index, r.exposures, r.feedbacks) for r in minutes] == [(minute, 1, 2, 2)]
    # the hourly export holds the conversions in their exposure's hour
    page = await PageSession(tenant.client).login(tenant.email)
    export = list(csv.DictReader(io.StringIO((await page.get(f"/experiments/{eid}/hourly.csv")).text)))
    assert [(r["hour"], r["arm_index"], r["exposures"], r["feedbacks"]) for r in export] == [
        (hour_h.strftime("%Y-%m-%dT%H:00:00Z"), "1", "2", "2")
    ]


async def test_events_without_an_issue_time_count_when_they_arrived(
    settings: Settings, tenant: Tenant, app: Litestar, redis: Redis
) -> None:
    """events written before tokens' times were recorded (no `issued`) keep their old hour."""
    experiment = await tenant.experiment(reward_mode="conversion")
    eid = experiment["id"]
    writer = EventWriter(redis, app.state.redis_keys)
    now = time.time()
    await writer.exposure(Event(kind="x", experiment=eid, arm=0, reward=0.0, trials=1, ts=now - 7200))
    await writer.once(Event(kind="f", experiment=eid, arm=0, reward=1.0, trials=0, ts=now), "legacy-1", 600)

    await run_worker(settings)

    found = {(r.hour, r.exposures, r.feedbacks) for r in await rows(settings, ArmStatsHourly, eid)}
    hour = lambda ts: datetime.fromtimestamp(ts - ts % 3600, tz=UTC)  # noqa: E731
    assert found == {(hour(now - 7200), 1, 0), (hour(now), 0, 1)}


async def test_housekeeping_drops_minute_rows_after_two_days(settings: Settings, tenant: Tenant) -> None:
    experiment = await tenant.experiment(reward_mode="conversion")
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    engine = create_async_engine(settings.async_database_url)
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    async with sessions() as session, session.begin():
        for minute in (now - timedelta(days=2, minutes=1), now - timedelta(days=1, hours=23)):
            session.add(
                ArmStatsMinute(
                    experiment_id=UUID(experiment["id"]),
                    arm_index=0,
                    minute=minute,
                    exposures=1,
                    feedbacks=0,
                    reward_sum=0.0,
                    reward_sum_sq=0.0,
                )
            )
    assert await prune_minutes(sessions, now) >= 1
    await engine.dispose()
    kept = await rows(settings, ArmStatsMinute, experiment["id"])
    assert [r.minute for r in kept] == [now - timedelta(days=1, hours=23)]
