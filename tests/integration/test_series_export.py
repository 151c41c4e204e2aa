"""the csv of a date range at hour, day or week granularity, and the start date shown with the experiment."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

from app.settings import Settings
from tests.integration.conftest import Tenant
from tests.integration.pages_support import PageSession, seed_rows


async def test_series_csv_by_range_and_granularity(tenant: Tenant, settings: Settings) -> None:
    experiment = await tenant.experiment(reward_mode="conversion")
    # 72 hours ending at the last full hour: 4 calendar days at most, every hour 10 + 1 visitors
    start = await seed_rows(settings.database_url, experiment["id"], [(720, 72), (792, 144)], hours=72)
    page = await PageSession(tenant.client).login(tenant.email)
    path = f"/experiments/{experiment['id']}/series.csv"

    def rows(text: str) -> list[dict[str, str]]:
        return list(csv.DictReader(io.StringIO(text)))

    hourly = rows((await page.get(f"{path}?granularity=hour")).text)
    assert len(hourly) == 72 * 2 and hourly[0]["hour"] == start.strftime("%Y-%m-%dT%H:00:00Z")
    daily = rows((await page.get(path)).text)
    assert sum(int(r["exposures"]) for r in daily if r["arm_index"] == "1") == 792
    assert sum(int(r["feedbacks"]) for r in daily if r["arm_index"] == "0") == 72
    assert daily[0]["day"] == start.strftime("%Y-%m-%d") and {r["arm"] for r in daily} == {"arm-0", "arm-1"}
    weekly = rows((await page.get(f"{path}?granularity=week")).text)
    assert sum(int(r["exposures"]) for r in weekly) == 720 + 792

    # one utc day: only its hours
    first_day = start.date()
    one = rows((await page.get(f"{path}?granularity=hour&start={first_day}&end={first_day}")).text)
    assert one and all(r["hour"].startswith(first_day.isoformat()) for r in one)
    later = first_day + timedelta(days=1)
    assert all(r["day"] >= later.isoformat() for r in rows((await page.get(f"{path}?start={later}")).text))

    bad = await page.get(f"{path}?granularity=minute")
    assert bad.status_code == 422 and "granularity" in bad.text
    bad = await page.get(f"{path}?start={later}&end={first_day}")
    assert bad.status_code == 422 and "end" in bad.text
    assert (await page.get(f"{path}?start=yesterday")).status_code == 400


async def test_start_date_and_days_running(tenant: Tenant) -> None:
    draft = await tenant.experiment(status="draft")
    assert draft["started_at"] is None and draft["days_running"] is None
    running = await tenant.experiment()
    assert running["started_at"] is not None and running["days_running"] == 0
    response = await tenant.client.put(
        f"/api/v1/experiments/{draft['id']}", json={"status": "running"}, headers=tenant.headers
    )
    assert response.json()["started_at"] is not None
    page = await PageSession(tenant.client).login(tenant.email)
    listing = await page.get("/experiments")
    assert listing.text.count("0 days running") == 2
    assert "0 days running" in (await page.get(f"/experiments/{running['id']}")).text
