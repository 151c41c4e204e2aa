"""segments on the real stores: recorded on exposures through select and the tag, counted by the worker within a
cap however many values a hostile caller sends, shown per dimension and exported, per tenant."""

from __future__ import annotations

import csv
import io
import json
import time
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import create_async_engine

from app.db.models import SegmentStatsDaily, SegmentValue
from app.settings import Settings
from app.targeting.segments import MAX_VALUES
from app.worker.drain import Drainer
from tests.e2e.tag_support import claims
from tests.integration.conftest import Tenant, drain
from tests.integration.pages_support import PageSession
from tests.integration.test_tag_api import PLAIN, make_shop

IPHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Mobile/15E148"


async def segment_rows(settings: Settings, experiment_id: str) -> dict[tuple[str, str, int], tuple[int, int]]:
    engine = create_async_engine(settings.async_database_url)
    t = SegmentStatsDaily
    async with engine.connect() as connection:
        rows = await connection.execute(
            select(t.dimension, t.value, t.arm_index, func.sum(t.exposures), func.sum(t.feedbacks))
            .where(t.experiment_id == experiment_id)
            .group_by(t.dimension, t.value, t.arm_index)
        )
        found = {(d, v, a): (int(x), int(f)) for d, v, a, x, f in rows}
    await engine.dispose()
    return found


def csv_rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


async def test_select_records_the_segment_and_conversions_follow_it(
    tenant: Tenant, drainer: Drainer, settings: Settings
) -> None:
    experiment = await tenant.experiment(reward_mode="conversion")
    metadata = {"device": "mobile", "utm_source": "Newsletter", "utm_medium": "email", "visitor_type": "returning"}
    tokens = []
    for i in range(6):
        body = {"experiment_id": experiment["id"], "context": {"id": f"v{i}", "metadata": metadata}}
        headers = {**tenant.headers, "cf-ipcountry": "de", "accept-language": "de-CH,de;q=0.9"}
        response = await tenant.client.post("/api/v1/select", json=body, headers=headers)
        assert response.status_code == 200, response.text
        tokens.append(response.json()["selection_token"])
    assert claims(tokens[0])["s"] == ["mobile", "DE", "de", "newsletter", "email", "returning"]
    # a visitor with nothing to say: no segment in the token, counted as unset
    plain = (await tenant.post("/api/v1/select", {"experiment_id": experiment["id"]}, 200)).json()
    assert claims(plain["selection_token"])["s"] == []
    converted = tokens[0]
    await tenant.post("/api/v1/feedback", {"selection_token": converted, "reward": 1}, 202)
    await drain(drainer)

    found = await segment_rows(settings, experiment["id"])
    arm = claims(converted)["a"]
    assert sum(x for (d, v, _), (x, _) in found.items() if d == "device" and v == "mobile") == 6
    assert found[("device", "mobile", arm)][1] == 1  # the conversion counted in its exposure's segment
    expected = [("country", "DE"), ("language", "de"), ("utm_source", "newsletter"), ("visitor", "returning")]
    for dimension, value in expected:
        assert sum(x for (d, v, _), (x, _) in found.items() if (d, v) == (dimension, value)) == 6
    assert sum(x for (d, v, _), (x, _) in found.items() if (d, v) == ("device", "")) == 1
    # every dimension adds up to the experiment's visitors
    for dimension in ("device", "country", "language", "utm_source", "utm_medium", "visitor"):
        assert sum(x for (d, _, _), (x, _) in found.items() if d == dimension) == 7


async def test_the_tag_records_device_language_utm_and_new_visitors(
    tenant: Tenant, drainer: Drainer, settings: Settings
) -> None:
    shop = await make_shop(tenant, goal={"type": "click", "value": "signup"})
    now = int(time.time())
    body = {
        "v": "tagvisitor",
        "x": ["hero"],
        "u": "https://shop.example/?utm_source=Google&utm_medium=cpc",
        "l": "fr-FR",
        "n": now - 60,
        "a": {"visitor_first_seen": 1},  # the page can't pretend: only the tag's own field counts
    }
    [decision] = (await shop.decide(body, headers={**PLAIN, "user-agent": IPHONE, "cf-ipcountry": "FR"})).json()["d"]
    assert claims(decision["t"])["s"] == ["mobile", "FR", "fr", "google", "cpc", "new"]
    assert (await shop.events([{"k": "x", "t": decision["t"]}]))["accepted"] == 1
    assert (await shop.events([{"k": "c", "t": decision["t"], "g": "signup"}]))["accepted"] == 1
    old = dict(body, v="returner", n=now - 86400, u="https://shop.example/")
    [back] = (await shop.decide(old)).json()["d"]
    assert claims(back["t"])["s"] == ["desktop", "", "fr", "", "", "returning"]
    assert (await shop.events([{"k": "x", "t": back["t"]}]))["accepted"] == 1
    await drain(drainer)
    found = await segment_rows(settings, shop.experiment["id"])
    assert found[("visitor", "new", decision["a"])] == (1, 1)
    assert found[("visitor", "returning", back["a"])][0] == 1
    assert found[("utm_source", "google", decision["a"])] == (1, 1)


async def test_a_flood_of_distinct_values_stays_within_the_cap(
    tenant: Tenant, drainer: Drainer, settings: Settings
) -> None:
    shop = await make_shop(tenant, goal={"type": "click", "value": "signup"})
    # the tag api allows 600 requests a minute per site and address: 250 decisions and their exposures in batches
    visitors = 250
    exposures: list[dict[str, Any]] = []
    for i in range(visitors):
        # a hostile tag: a new source, medium, language and device on every page view
        body = {
            "v": f"f{i}",
            "x": ["hero"],
            "u": f"https://shop.example/?utm_source=spam{i}&utm_medium=m{i}",
            "l": f"{chr(97 + i % 26)}{chr(97 + i // 26 % 26)}",
        }
        headers = {**PLAIN, "user-agent": f"Bot{i}/1.0", "cf-ipcountry": f"{chr(65 + i % 26)}{chr(65 + i // 26 % 26)}"}
        [decision] = (await shop.decide(body, headers=headers)).json()["d"]
        exposures.append({"k": "x", "t": decision["t"]})
    for at in range(0, visitors, 40):  # the tag's 16 kb body holds about 40 tokens
        assert (await shop.events(exposures[at : at + 40]))["accepted"] == len(exposures[at : at + 40])
    await drain(drainer)
    found = await segment_rows(settings, shop.experiment["id"])
    for dimension in ("utm_source", "utm_medium", "language", "country"):
        values = {v for (d, v, _) in found if d == dimension}
        assert len(values - {"other", ""}) == MAX_VALUES, dimension
        assert sum(x for (d, _, _), (x, _) in found.items() if d == dimension) == visitors
        assert sum(x for (d, v, _), (x, _) in found.items() if (d, v) == (dimension, "other")) == visitors - MAX_VALUES
    engine = create_async_engine(settings.async_database_url)
    async with engine.connect() as connection:
        kept = await connection.scalar(
            select(func.count()).select_from(SegmentValue).where(SegmentValue.experiment_id == shop.experiment["id"])
        )
    await engine.dispose()
    assert kept == 4 * MAX_VALUES + 1  # the device is always narrow: desktop only here

    # the page and the csv show the top values and fold the rest, and stay small
    page = await PageSession(tenant.client).login(tenant.email)
    response = await page.get(f"/experiments/{shop.experiment['id']}")
    assert response.status_code == 200
    assert response.text.count('data-segment="') <= 6 * 10 * 2
    export = csv_rows((await page.get(f"/experiments/{shop.experiment['id']}/segments.csv")).text)
    utm = [r for r in export if r["dimension"] == "utm_source"]
    assert len({r["value"] for r in utm}) == 9 and sum(int(r["exposures"]) for r in utm) == visitors


async def test_segment_page_and_csv_are_tenant_scoped_and_refuse_bad_ranges(
    tenant: Tenant, other_tenant: Tenant, drainer: Drainer
) -> None:
    experiment = await tenant.experiment(reward_mode="conversion")
    for i in range(20):
        metadata: dict[str, Any] = {"device": "tablet" if i % 2 else "desktop"}
        body = {"experiment_id": experiment["id"], "context": {"id": f"s{i}", "metadata": metadata}}
        token = (await tenant.post("/api/v1/select", body, 200)).json()["selection_token"]
        if i % 4 == 0:
            await tenant.post("/api/v1/feedback", {"selection_token": token, "reward": 1}, 202)
    await drain(drainer)
    page = await PageSession(tenant.client).login(tenant.email)
    path = f"/experiments/{experiment['id']}"
    html = (await page.get(path)).text
    assert 'id="segments-device"' in html and 'id="segments-warning"' in html
    assert 'data-segment="tablet"' in html and "Holm" in html
    export = csv_rows((await page.get(f"{path}/segments.csv")).text)
    device = [r for r in export if r["dimension"] == "device"]
    assert sum(int(r["exposures"]) for r in device) == 20 and sum(int(r["conversions"]) for r in device) == 5
    assert {r["comparisons"] for r in device} == {"2"}
    # a range with no day of traffic: empty tables, not the whole experiment
    empty = csv_rows((await page.get(f"{path}/segments.csv?start=2020-01-01&end=2020-01-31")).text)
    assert empty == []
    for query, field in [("start=soon", "start"), ("start=2026-11-10&end=2026-11-01", "end")]:
        bad = await tenant.client.get(f"{path}/segments.csv?{query}")
        assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == field
    # another tenant's experiment is a 404, on the page and the csv
    other = await PageSession(other_tenant.client).login(other_tenant.email)
    assert (await other.get(f"{path}/segments.csv")).status_code == 404
    assert (await other.get(path)).status_code == 404
    json.dumps(export)  # plain strings: nothing the csv module left unencoded
