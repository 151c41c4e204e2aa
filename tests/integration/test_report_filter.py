"""the results page's report period: a date range and a granularity for the charts, the segments and the csv
links, carried by the polling fragment, and refused naming the field."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from typing import Any

from app.settings import Settings
from tests.integration.conftest import Tenant
from tests.integration.pages_support import PageSession, seed_rows


def charts_in(html: str, experiment_id: str) -> dict[str, Any]:
    found = re.search(rf'<script type="application/json" id="charts-{experiment_id}">(.*?)</script>', html, re.S)
    assert found, "the page embeds its chart data"
    return dict(json.loads(found.group(1)))


async def test_granularity_and_range_shape_the_charts(tenant: Tenant, settings: Settings) -> None:
    experiment = await tenant.experiment(reward_mode="conversion")
    eid = experiment["id"]
    # 20 days of hourly rows ending at the last full hour
    start = await seed_rows(settings.database_url, eid, [(4800, 240), (4800, 300)], hours=20 * 24)
    page = await PageSession(tenant.client).login(tenant.email)
    path = f"/experiments/{eid}"

    auto = charts_in((await page.get(path)).text, eid)
    assert auto["traffic"]["period"] != "1 hour"  # twenty days fit in 100 points of a few hours

    hourly = await page.get(f"{path}?granularity=hour")
    assert hourly.status_code == 200
    charts = charts_in(hourly.text, eid)
    assert charts["rate"]["period"] == "1 hour" and len(charts["rate"]["labels"]) == 20 * 24

    weekly = charts_in((await page.get(f"{path}?granularity=week")).text, eid)
    assert weekly["traffic"]["period"] == "1 week"
    weeks = len({(start + timedelta(hours=h)).isocalendar()[:2] for h in range(20 * 24)})
    assert len(weekly["traffic"]["labels"]) == weeks

    # one utc day at hourly points: at most its 24 hours, all on that day
    day = (start + timedelta(days=3)).date()
    one = await page.get(f"{path}?start={day}&end={day}&granularity=hour")
    charts = charts_in(one.text, eid)
    assert len(charts["rate"]["labels"]) == 24
    table = re.findall(r'<table class="table compact" id="table-traffic">.*?</table>', one.text, re.S)[0]
    assert day.strftime("%Y-%m-%d") in table and (day + timedelta(days=1)).strftime("%Y-%m-%d") not in table
    # the form keeps the choice, the csv link and the polling follow it
    assert f'value="{day}"' in one.text and '<option value="hour" selected>' in one.text
    query = f"?start={day}&amp;end={day}&amp;granularity=hour"
    assert f'href="/experiments/{eid}/series.csv{query}"' in one.text
    assert f'data-poll="/experiments/{eid}/results{query}"' in one.text
    fragment = await page.get(f"{path}/results?start={day}&end={day}&granularity=hour")
    assert fragment.status_code == 200 and len(charts_in(fragment.text, eid)["rate"]["labels"]) == 24

    # a period with no traffic draws nothing rather than the whole experiment
    before = start.date() - timedelta(days=30)
    empty = await page.get(f"{path}?start={before}&end={before + timedelta(days=2)}")
    assert empty.status_code == 200 and charts_in(empty.text, eid).get("traffic") is None
    assert "No traffic yet." in empty.text
    # the verdict's totals still count every visitor
    assert 'data-field="total_exposures">9,600<' in empty.text


async def test_bad_periods_are_refused_naming_the_field(tenant: Tenant, settings: Settings) -> None:
    experiment = await tenant.experiment(reward_mode="conversion")
    eid = experiment["id"]
    await seed_rows(settings.database_url, eid, [(400, 20), (400, 30)], hours=40 * 24)
    cases = [
        ("granularity=minute", "granularity"),
        ("granularity=hour", "granularity"),  # 40 days of hours: too many points for a chart
        ("start=tomorrow", "start"),
        ("end=2026-02-30", "end"),
        ("start=2026-11-10&end=2026-11-01", "end"),
        ("start=2024-01-01&end=2026-01-01", "end"),
    ]
    page = await PageSession(tenant.client).login(tenant.email)
    for query, field in cases:
        for suffix in ("", "/results"):
            # without accept: text/html the dashboard answers problem details
            response = await tenant.client.get(f"/experiments/{eid}{suffix}?{query}")
            assert response.status_code == 422, (query, response.text)
            assert response.json()["errors"][0]["field"] == field, query
    # a person gets the error page, with the field named
    response = await page.get(f"/experiments/{eid}?granularity=fortnight")
    assert response.status_code == 422 and "granularity" in response.text
    # an hourly chart of a short range of a long experiment is fine
    today = datetime.now().date()
    ok = await page.get(f"/experiments/{eid}?granularity=hour&start={today - timedelta(days=6)}&end={today}")
    assert ok.status_code == 200


async def test_start_and_days_running_wherever_the_experiment_appears(tenant: Tenant) -> None:
    running = await tenant.experiment(reward_mode="conversion")
    await tenant.post("/api/v1/gates", {"experiment_id": running["id"], "rules": []}, 201)
    page = await PageSession(tenant.client).login(tenant.email)
    for path in ("/experiments", "/gates"):
        html = (await page.get(path)).text
        assert re.search(r'data-field="started">.*?0 days running', html, re.S), path
    detail = (await page.get(f"/experiments/{running['id']}")).text
    assert 'id="started"' in detail and re.search(r'data-field="days_running">Started .*?0 days running', detail, re.S)
    api = (await tenant.get(f"/api/v1/experiments/{running['id']}", 200)).json()
    assert api["started_at"] and api["days_running"] == 0
