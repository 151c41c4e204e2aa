"""the results page's over-time charts, read back from the json embedded in the page (real postgres rows)."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

from app.db.models import ArmStatsHourly, ArmStatsMinute
from app.settings import Settings
from tests.integration.conftest import Tenant
from tests.integration.pages_support import PageSession, seed_rows


async def experiment_with(tenant: Tenant, arms: int) -> dict[str, Any]:
    pool = await tenant.post("/api/v1/pools", {"name": "p", "arms": [{"name": f"arm{i}"} for i in range(arms)]}, 201)
    body = {"name": "cta", "pool_id": pool.json()["id"], "reward_mode": "conversion", "status": "draft"}
    return (await tenant.post("/api/v1/experiments", body, 201)).json()


async def seed_minutes(
    settings: Settings, experiment_id: str, counts: dict[tuple[datetime, int], tuple[int, int]], hourly_too: bool = True
) -> None:
    """minute rows and (unless told) the hourly rows the worker would have written beside them."""
    hourly: dict[tuple[datetime, int], list[int]] = {}
    minutes = []
    for (minute, arm), (exposures, conversions) in counts.items():
        minutes.append(row(experiment_id, arm, exposures, conversions, minute=minute))
        total = hourly.setdefault((minute.replace(minute=0), arm), [0, 0])
        total[0] += exposures
        total[1] += conversions
    engine = create_async_engine(settings.database_url)
    async with AsyncSession(engine) as session, session.begin():
        await session.execute(insert(ArmStatsMinute), minutes)
        if hourly_too:
            await session.execute(
                insert(ArmStatsHourly), [row(experiment_id, a, x, c, hour=h) for (h, a), (x, c) in hourly.items()]
            )
    await engine.dispose()


def row(experiment_id: str, arm: int, exposures: int, conversions: int, **at: datetime) -> dict[str, Any]:
    return {
        "experiment_id": experiment_id,
        "arm_index": arm,
        "exposures": exposures,
        "feedbacks": conversions,
        "reward_sum": float(conversions),
        "reward_sum_sq": float(conversions),
        **at,
    }


async def charts_of(tenant: Tenant, experiment_id: str) -> dict[str, Any]:
    page = await PageSession(tenant.client).login(tenant.email)
    html = (await page.get(f"/experiments/{experiment_id}")).text
    found = re.search(rf'<script type="application/json" id="charts-{experiment_id}">(.*?)</script>', html, re.S)
    assert found, "the page embeds its chart data"
    return dict(json.loads(found.group(1)))


def this_hour() -> datetime:
    return datetime.now(UTC).replace(minute=0, second=0, microsecond=0)


async def test_a_young_experiment_is_charted_per_minute(settings: Settings, tenant: Tenant) -> None:
    experiment = await experiment_with(tenant, 2)
    start = this_hour() - timedelta(hours=2)
    counts = {
        (start + timedelta(minutes=m), arm): (10 + arm, (m // 3 + arm) % 3) for m in range(0, 150, 3) for arm in (0, 1)
    }
    await seed_minutes(settings, experiment["id"], counts)
    charts = await charts_of(tenant, experiment["id"])
    traffic, rate = charts["traffic"], charts["rate"]
    assert traffic["period"] == "2 minutes" and len(traffic["labels"]) == 74  # 148 minutes, two per point
    assert traffic["labels"][:2] == [start.strftime("%H:%M"), (start + timedelta(minutes=2)).strftime("%H:%M")]
    # the cumulative rate keeps the minutes (they nest in the analysis's hours) and ends on the table's rate:
    # with an even split that is conversions / visitors, no prior mixed in
    assert rate["period"] == "2 minutes" and len(rate["labels"]) == 74
    conversions = sum(c for (_, arm), (_, c) in counts.items() if arm == 1)
    exposures = sum(x for (_, arm), (x, _) in counts.items() if arm == 1)
    assert abs(rate["series"][1][-1] - 100 * conversions / exposures) < 1e-3


async def test_minute_rows_that_miss_events_are_not_charted(settings: Settings, tenant: Tenant) -> None:
    """an experiment older than its kept minutes (or counted before they existed) is charted per hour."""
    experiment = await experiment_with(tenant, 2)
    await seed_rows(settings.database_url, experiment["id"], [(300, 10), (300, 20)], hours=3)
    start = this_hour() - timedelta(hours=1)
    await seed_minutes(settings, experiment["id"], {(start, 0): (5, 1), (start, 1): (5, 1)}, hourly_too=False)
    charts = await charts_of(tenant, experiment["id"])
    assert charts["traffic"]["period"] == "1 hour" and len(charts["traffic"]["labels"]) == 3


async def test_a_long_experiment_is_charted_per_day(settings: Settings, tenant: Tenant) -> None:
    experiment = await experiment_with(tenant, 3)
    await seed_rows(settings.database_url, experiment["id"], [(3000, 90), (3000, 120), (3000, 60)], hours=24 * 20)
    charts = await charts_of(tenant, experiment["id"])
    assert charts["traffic"]["period"] == "1 day" and 20 <= len(charts["traffic"]["labels"]) <= 21
    assert all(sum(r > 0 for r in radii) >= 2 for radii in charts["rate"]["radius"])


async def test_every_arm_is_drawn_when_a_series_has_one_point(settings: Settings, tenant: Tenant) -> None:
    experiment = await experiment_with(tenant, 4)
    minute = this_hour() + timedelta(minutes=1)
    await seed_minutes(settings, experiment["id"], {(minute, arm): (3, 1) for arm in range(4)})
    charts = await charts_of(tenant, experiment["id"])
    for key in ("traffic", "prob_best", "rate"):
        chart = charts[key]
        assert len(chart["labels"]) == 1
        assert [len(s) for s in chart["series"]] == [1, 1, 1, 1]
        assert all(s[0] is not None for s in chart["series"]), key
        assert chart["radius"] == [[4]] * 4, key  # a visible marker for every arm


def table_rates(html: str) -> dict[str, str]:
    """the arm table's rate cell per arm, as shown."""
    found = re.findall(r'<tr data-arm="([^"]+)".*?data-field="rate"><span class="v">([^<]+)<br>', html, re.S)
    return dict(found)


async def test_the_rate_chart_ends_on_the_table_rate_when_traffic_moved_and_the_rate_drifted(
    settings: Settings, tenant: Tenant
) -> None:
    """a bandit sends arm1 most visitors at weekends, which convert a fifth as well: the pooled rate and the beta
    mean both differ from the table's period-adjusted rate, and the chart must show the table's."""
    experiment = await experiment_with(tenant, 2)
    start = this_hour() - timedelta(days=12)
    rows = []
    for h in range(12 * 24):
        at = start + timedelta(hours=h)
        base = 0.01 if at.weekday() >= 5 else 0.05
        share = 0.8 if at.weekday() >= 5 else 0.2 + 0.3 * h / (12 * 24)
        for arm, (visitors, lift) in enumerate(((round(200 * (1 - share)), 1.0), (round(200 * share), 1.3))):
            rows.append(row(experiment["id"], arm, visitors, round(visitors * base * lift + (h % 3 == arm)), hour=at))
    engine = create_async_engine(settings.database_url)
    async with AsyncSession(engine) as session, session.begin():
        await session.execute(insert(ArmStatsHourly), rows)
    await engine.dispose()

    page = await PageSession(tenant.client).login(tenant.email)
    html = (await page.get(f"/experiments/{experiment['id']}")).text
    found = re.search(rf'<script type="application/json" id="charts-{experiment["id"]}">(.*?)</script>', html, re.S)
    assert found
    rate = json.loads(found.group(1))["rate"]
    shown = table_rates(html)
    assert set(shown) == {"arm0", "arm1"}
    pooled = []
    for arm in (0, 1):
        last = rate["series"][arm][-1]
        assert f"{last:.2f}%" == shown[f"arm{arm}"], (arm, last, shown)
        assert rate["low"][arm][-1] <= last <= rate["high"][arm][-1]
        visitors = sum(r["exposures"] for r in rows if r["arm_index"] == arm)
        conversions = sum(r["feedbacks"] for r in rows if r["arm_index"] == arm)
        pooled.append(100 * conversions / visitors)
        # the data is one where the bases differ: neither the plain pooled rate nor the beta(1, 1) mean is the table's
        assert abs(last - pooled[-1]) > 0.05 and abs(last - 100 * (conversions + 1) / (visitors + 2)) > 0.05
    # one name for the column and the axis
    assert rate["label"] == "Cumulative conversion rate (%)"
    assert '<th scope="col" class="num">Cumulative conversion rate<br>' in html
    assert 'data-label="Cumulative conversion rate" data-field="rate"' in html
    assert "Cumulative conversion rate with 95% band" in html
