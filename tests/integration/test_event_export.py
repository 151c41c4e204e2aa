"""the event log export (api and dashboard): one row per exposure with its attributed reward, streamed, scoped to
the caller's organization, and read back by `levers replay`."""

from __future__ import annotations

import csv
import io
import json
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import UUID

import pytest
from litestar import Litestar
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, create_async_engine

from app.domain.experiments.events import CHUNK, EPOCH, export_events
from app.lib.tokens import SelectionTokens
from app.offline.cli import cli
from app.offline.events import parse_csv, parse_jsonl
from app.runtime.events import EventWriter
from app.runtime.records import Event
from app.settings import Settings
from app.worker.drain import Drainer
from app.worker.event_log import EventLog
from tests.integration.conftest import Tenant, drain
from tests.integration.pages_support import PageSession
from tests.integration.test_team_roles import join_by_link


@pytest.fixture
async def engine(settings: Settings) -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(settings.async_database_url)
    yield engine
    await engine.dispose()


async def test_the_export_is_one_row_per_exposure_and_levers_replay_reads_it(
    tenant: Tenant, drainer: Drainer, app: Litestar, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    experiment = await tenant.experiment(arms=3, protocol="lin_ts", context_dim=2)
    tokens: SelectionTokens = app.state.decisions.tokens
    served = {}
    for i in range(40):
        vector = [1.0, (i % 4) / 4]
        body = {"experiment_id": experiment["id"], "context": {"vector": vector}}
        token = (await tenant.post("/api/v1/select", body, 200)).json()["selection_token"]
        served[token] = (tokens.verify(token), vector)
    rewarded = list(served)[::3]
    for token in rewarded:
        await tenant.post("/api/v1/feedback", {"selection_token": token, "reward": 1.0}, 202)
    await drain(drainer)

    path = f"/api/v1/experiments/{experiment['id']}/events"
    as_csv = await tenant.get(f"{path}?format=csv", 200)
    assert as_csv.headers["content-type"].startswith("text/csv")
    assert "attachment" in as_csv.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(as_csv.text)))
    assert list(rows[0]) == ["ts", "arm_index", "propensity", "reward", "context"] and len(rows) == 40
    expected = sorted((c.a, c.p, 1.0 if t in rewarded else 0.0, v) for t, (c, v) in served.items())
    found = sorted(
        (int(r["arm_index"]), float(r["propensity"]), float(r["reward"]), json.loads(r["context"])) for r in rows
    )
    assert found == expected
    assert [r["ts"] for r in rows] == sorted(r["ts"] for r in rows)  # in exposure order

    as_jsonl = await tenant.get(f"{path}?format=jsonl", 200)
    assert as_jsonl.headers["content-type"].startswith("application/x-ndjson")
    from_csv, from_jsonl = parse_csv(io.StringIO(as_csv.text)), parse_jsonl(io.StringIO(as_jsonl.text))
    assert from_csv.size == from_jsonl.size == 40
    assert (from_csv.arms == from_jsonl.arms).all() and (from_csv.rewards == from_jsonl.rewards).all()
    assert from_jsonl.contexts is not None and from_jsonl.contexts.shape == (40, 2)
    assert from_jsonl.rewards.sum() == len(rewarded)

    # the round trip: the download is what `levers replay` takes
    for fmt, response in (("csv", as_csv), ("jsonl", as_jsonl)):
        file = tmp_path / f"events.{fmt}"
        file.write_bytes(response.content)
        assert cli([str(file), "--policy", "uniform", "--arms", "3", "--json"]) == 0
        result = json.loads(capsys.readouterr().out)
        assert result["events"] == 40
        assert result["estimates"]["ips"]["value"] is not None


async def test_rewards_are_attributed_within_the_window_and_since_filters_exposures(
    tenant: Tenant, drainer: Drainer, app: Litestar, redis: Redis
) -> None:
    experiment = await tenant.experiment(reward_mode="conversion", attribution_window_seconds=3600)
    eid = experiment["id"]
    writer = EventWriter(redis, app.state.redis_keys)
    base = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=5)
    t0 = base.timestamp()
    # exposure a converts within the hour, b converts two hours late, c never; d is four hours later
    for nonce, at in (("a", t0), ("b", t0 + 1), ("c", t0 + 2), ("d", t0 + 4 * 3600)):
        await writer.exposure(
            Event(kind="x", experiment=eid, arm=1, reward=0.0, trials=1, ts=at, propensity=0.25, nonce=nonce, issued=at)
        )
    for nonce, at, issued in (("a", t0 + 600, t0), ("b", t0 + 2 * 3600, t0 + 1)):
        await writer.once(
            Event(kind="f", experiment=eid, arm=1, reward=1.0, trials=0, ts=at, nonce=nonce, issued=issued), nonce, 60
        )
    await drain(drainer)

    lines = (await tenant.get(f"/api/v1/experiments/{eid}/events?format=jsonl", 200)).text.splitlines()
    rewards = [(json.loads(line)["ts"], json.loads(line)["reward"]) for line in lines]
    assert [r for _, r in rewards] == [1.0, 0.0, 0.0, 0.0]
    assert rewards[0][0] == base.isoformat().replace("+00:00", "Z")
    since = (base + timedelta(hours=1)).isoformat().replace("+00:00", "Z")
    later = (await tenant.get(f"/api/v1/experiments/{eid}/events?format=jsonl&since={since}", 200)).text.splitlines()
    assert len(later) == 1 and json.loads(later[0])["propensity"] == 0.25
    # the day after the last exposure (d), whatever the time of day the test runs at
    day = ((base + timedelta(hours=4)).date() + timedelta(days=1)).isoformat()
    assert (await tenant.get(f"/api/v1/experiments/{eid}/events?since={day}", 200)).text == (
        "ts,arm_index,propensity,reward,context\n"
    )


async def test_bad_input_other_tenants_and_no_credential_are_refused(tenant: Tenant, other_tenant: Tenant) -> None:
    experiment = await tenant.experiment()
    path = f"/api/v1/experiments/{experiment['id']}/events"
    for query, field in (
        ("format=xml", "format"),
        ("format=", "format"),
        ("format=CSV", "format"),
        ("since=yesterday", "since"),
        ("since=2026-13-45", "since"),
        ("since=2026-11-01T25:00", "since"),
    ):
        response = await tenant.get(f"{path}?{query}", 422)
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.json()["errors"][0]["field"] == field, query
    # another organization's experiment does not exist for this caller, whatever the query
    assert (await other_tenant.get(path, 404)).json()["errors"][0]["field"] == "experiment_id"
    await other_tenant.get(f"{path}?format=xml", 404)
    assert (await tenant.client.get(path)).status_code == 401
    await tenant.get("/api/v1/experiments/not-a-uuid/events", 404)
    # offsets are kept: an instant with an offset is that instant
    await tenant.get(f"{path}?since=2026-11-01T12:00:00%2B02:00", 200)
    # the lowest role of the organization may download, like the dashboard's csv exports
    invite = await tenant.post("/api/v1/team/invitations", {"role": "viewer"}, 201)
    _, viewer = await join_by_link(tenant.client, invite.json()["url"])
    download = await tenant.client.get(f"{path}?format=jsonl", headers=viewer)
    assert download.status_code == 200 and download.headers["content-type"].startswith("application/x-ndjson")


async def test_the_dashboard_link_downloads_the_same_log(
    tenant: Tenant, other_tenant: Tenant, drainer: Drainer
) -> None:
    experiment = await tenant.experiment(reward_mode="conversion")
    for _ in range(5):
        await tenant.post("/api/v1/select", {"experiment_id": experiment["id"]}, 200)
    await drain(drainer)
    page = await PageSession(tenant.client).login(tenant.email)
    detail = await page.get(f"/experiments/{experiment['id']}")
    link = f"/experiments/{experiment['id']}/events?format=csv"
    assert detail.status_code == 200 and f'href="{link}"' in detail.text
    download = await page.get(link)
    assert download.status_code == 200 and download.headers["content-type"].startswith("text/csv")
    assert len(list(csv.DictReader(io.StringIO(download.text)))) == 5
    api = await tenant.get(f"/api/v1/experiments/{experiment['id']}/events", 200)
    assert download.text == api.text
    assert (await page.get(f"/experiments/{experiment['id']}/events?format=pdf")).status_code == 422
    # another organization's member gets nothing
    other = await PageSession(tenant.client).login(other_tenant.email)
    assert (await other.get(link)).status_code == 404
    tenant.client.cookies.clear()
    assert (await page.get(link)).status_code in (302, 303, 401)


async def test_a_large_log_streams_in_chunks(engine: AsyncEngine, tenant: Tenant) -> None:
    experiment = await tenant.experiment()
    eid = experiment["id"]
    now = time.time()
    events = [
        Event(kind="x", experiment=eid, arm=i % 2, reward=0.0, trials=1, ts=now + i / 1000, nonce=f"big-{i}")
        for i in range(CHUNK * 3 + 7)
    ]
    sessions = AsyncSession(engine)
    log = EventLog()
    await log.ensure(lambda: AsyncSession(engine), {datetime.now(UTC).date().replace(day=1)})  # type: ignore[arg-type]
    async with sessions as session, session.begin():
        await log.append(session, events)
    chunks = [chunk async for chunk in export_events(engine, UUID(eid), 3600, EPOCH, "jsonl")]
    # never the whole log in one piece: a chunk of rows at a time from the cursor
    assert len(chunks) == 4 and all(chunk.count(b"\n") <= CHUNK for chunk in chunks)
    assert sum(chunk.count(b"\n") for chunk in chunks) == CHUNK * 3 + 7
