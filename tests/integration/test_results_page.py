"""the results page, its self-refreshing fragment and csv exports, from real hourly rows in postgres."""

from __future__ import annotations

import csv
import io
import uuid

import numpy as np
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

from app.db.models import Role
from app.domain.results.model import bucket_hours, downsample
from app.domain.results.services import ResultsService
from app.lib.auth import Principal
from app.settings import Settings
from app.stats import ArmTotals, DecisionThresholds, analyze
from tests.integration.conftest import Tenant
from tests.integration.pages_support import PageSession, seed_rows


async def conversion_experiment(tenant: Tenant, names: list[str], **fields: object) -> dict:
    pool = await tenant.post(
        "/api/v1/pools", {"name": "p", "arms": [{"name": n, "payload": {"text": n}} for n in names]}, 201
    )
    body = {"name": "cta", "pool_id": pool.json()["id"], "reward_mode": "conversion", "status": "draft", **fields}
    return (await tenant.post("/api/v1/experiments", body, 201)).json()


async def test_results_page_shows_the_analysis_and_a_recommendation(settings: Settings, tenant: Tenant) -> None:
    experiment = await conversion_experiment(tenant, ["Control", "Green"])
    await seed_rows(settings.database_url, experiment["id"], [(2000, 80), (2000, 160)], hours=48)
    page = await PageSession(tenant.client).login(tenant.email)
    response = await page.get(f"/experiments/{experiment['id']}")
    assert response.status_code == 200, response.text
    html = response.text
    assert 'data-recommendation="ship"' in html and "Ship Green" in html
    assert 'data-field="exposures"><span class="v">2,000</span>' in html
    assert "4.00%" in html and "8.00%" in html  # the observed rates
    assert "data-poll" not in html.split('id="results"')[1].split(">")[0]  # a draft does not poll
    for chart in ("density", "traffic", "prob_best", "rate"):
        assert f'data-chart="{chart}"' in html
    assert 'href="/how-levers-decides"' in html
    doc = await page.get("/how-levers-decides")
    assert doc.status_code == 200 and "Looking every day is safe" in doc.text

    await tenant.client.put(
        f"/api/v1/experiments/{experiment['id']}", json={"status": "running"}, headers=tenant.headers
    )
    fragment = await page.get(f"/experiments/{experiment['id']}/results")
    assert fragment.status_code == 200
    assert fragment.text.lstrip().startswith('<section id="results"')
    assert f'data-poll="/experiments/{experiment["id"]}/results"' in fragment.text

    response = await page.post(f"/experiments/{experiment['id']}/winner", {"winner_index": "1"})
    assert response.status_code in (302, 303)
    fetched = (await tenant.get(f"/api/v1/experiments/{experiment['id']}", 200)).json()
    assert fetched["status"] == "completed" and fetched["winner_index"] == 1
    html = (await page.get(f"/experiments/{experiment['id']}")).text
    assert "Winner: Green" in html and "hx-get" not in html.split('id="results"')[1].split(">")[0]
    assert 'data-field="traffic_share"><span class="v">100%</span>' in html


async def test_csv_exports_match_the_rows_and_the_analysis(settings: Settings, tenant: Tenant) -> None:
    experiment = await conversion_experiment(tenant, ["=cmd|' /C calc'!A0", "B", "C"])
    await seed_rows(settings.database_url, experiment["id"], [(900, 30), (900, 45), (900, 27)], hours=30)
    page = await PageSession(tenant.client).login(tenant.email)
    totals = await page.get(f"/experiments/{experiment['id']}/results.csv")
    assert totals.status_code == 200 and totals.headers["content-type"].startswith("text/csv")
    assert "attachment" in totals.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(totals.text)))
    assert [r["arm"] for r in rows] == ["'=cmd|' /C calc'!A0", "B", "C"]  # no formula for spreadsheets
    assert [int(r["exposures"]) for r in rows] == [900, 900, 900]
    assert [int(r["conversions"]) for r in rows] == [30, 45, 27]
    expected = analyze([ArmTotals("a", 900, 30.0), ArmTotals("b", 900, 45.0), ArmTotals("c", 900, 27.0)], "binary")
    for row, arm in zip(rows, expected.arms, strict=True):
        assert abs(float(row["prob_best"]) - arm.prob_best) < 1e-9
        assert abs(float(row["expected_loss"]) - arm.expected_loss) < 1e-12
    assert rows[0]["control"] == "1" and abs(float(rows[0]["lift"])) == 0.0

    hourly = await page.get(f"/experiments/{experiment['id']}/hourly.csv")
    lines = list(csv.DictReader(io.StringIO(hourly.text)))
    assert len(lines) == 30 * 3
    assert sum(int(r["feedbacks"]) for r in lines if r["arm_index"] == "1") == 45
    assert lines[0]["hour"].endswith(":00:00Z")


async def test_postgres_buckets_equal_numpy_downsampling(settings: Settings, tenant: Tenant) -> None:
    experiment = await conversion_experiment(tenant, ["A", "B"])
    hours = 503  # more than MAX_POINTS: 6-hour buckets, the last one short
    per_arm = [(hours * 7 + 3, hours + 1), (hours * 5, hours * 2 - 1)]
    await seed_rows(settings.database_url, experiment["id"], per_arm, hours=hours)
    me = (await tenant.get("/auth/me", 200)).json()
    principal = Principal(organization_id=uuid.UUID(me["organization_id"]), role=Role.OWNER)
    engine = create_async_engine(settings.database_url)
    async with AsyncSession(engine) as session:
        service = ResultsService(session, None)
        model = await service.experiment(principal, uuid.UUID(experiment["id"]))
        counters = await service.counters(model)
    await engine.dispose()
    size = bucket_hours(hours)
    assert size == 6 and counters.bucket_hours == size and counters.exposures.shape == (84, 2)
    per_hour = np.array([[7 + (h < 3), 5] for h in range(hours)], dtype=float)
    assert np.array_equal(counters.exposures, downsample(per_hour, size))
    assert counters.feedbacks.sum() == hours + 1 + hours * 2 - 1


async def test_another_tenants_results_are_404(settings: Settings, tenant: Tenant, other_tenant: Tenant) -> None:
    experiment = await conversion_experiment(tenant, ["A", "B"])
    page = await PageSession(other_tenant.client).login(other_tenant.email)
    for suffix in ("", "/results", "/results.csv", "/hourly.csv"):
        response = await page.get(f"/experiments/{experiment['id']}{suffix}")
        assert response.status_code == 404, suffix


async def test_thresholds_are_experiment_settings(settings: Settings, tenant: Tenant) -> None:
    strict = {"prob_best": 0.999, "max_expected_loss": 0.0001, "min_trials_per_arm": 10, "practical_difference": 0}
    experiment = await conversion_experiment(tenant, ["Control", "Green"], decision=strict)
    assert experiment["decision"]["prob_best"] == 0.999 and experiment["decision"]["min_trials_per_arm"] == 10
    await seed_rows(settings.database_url, experiment["id"], [(2000, 80), (2000, 110)], hours=10)
    page = await PageSession(tenant.client).login(tenant.email)
    html = (await page.get(f"/experiments/{experiment['id']}")).text
    # the same data ships under the default rule but not under this strict one
    assert 'data-recommendation="keep_running"' in html
    default = analyze(
        [ArmTotals("c", 2000, 80.0), ArmTotals("g", 2000, 110.0)], "binary", thresholds=DecisionThresholds()
    )
    assert default.recommendation.kind != "keep_running" or default.arms[1].prob_best < 0.999

    bad = await tenant.client.put(
        f"/api/v1/experiments/{experiment['id']}", json={"decision": {"prob_best": 0.3}}, headers=tenant.headers
    )
    assert bad.status_code == 400 and bad.json()["errors"][0]["field"] == "decision.prob_best"


async def test_form_errors_sit_beside_their_fields_and_keep_the_input(settings: Settings, tenant: Tenant) -> None:
    page = await PageSession(tenant.client).login(tenant.email)
    form = {
        "name": "Hero test",
        "arm_count": "2",
        "control_index": "0",
        "arm-0-name": "Blue",
        "arm-0-text": "Start now",
        "arm-1-name": "Blue",
        "arm-1-redirect": "javascript:alert(1)",
        "arm-1-attributes": "onclick=alert(1)",
        "goal_type": "url",
        "goal_url": "",
        "protocol": "beta_ts",
        "reward_mode": "conversion",
        "traffic_percent": "150",
        "prob_best": "95",
        "max_expected_loss": "0.5",
        "min_trials_per_arm": "100",
        "practical_difference": "2",
    }
    response = await page.post("/experiments", form)
    assert response.status_code == 422 and response.headers["content-type"].startswith("text/html")
    html = response.text
    for field in ("arm-1-name", "arm-1-redirect", "arm-1-attributes", "goal_url", "traffic_percent"):
        assert f'id="{field}-error"' in html, field
        assert f'aria-describedby="{field}-error' in html, field
    assert 'value="Start now"' in html and 'value="Hero test"' in html
    assert (await tenant.get("/api/v1/experiments", 200)).json() == []

    added = await page.post("/experiments", {**form, "add_arm": "1"})
    assert added.status_code == 200 and 'id="arm-2-name"' in added.text and "-error" not in added.text

    fixed = {**form, "arm-1-name": "Green", "arm-1-redirect": "https://example.com/b", "arm-1-attributes": "title=Hi"}
    fixed |= {"goal_url": "/thanks", "traffic_percent": "50", "arm-1-style": "color: red"}
    response = await page.post("/experiments", fixed)
    assert response.status_code in (302, 303), response.text
    created = (await tenant.get("/api/v1/experiments", 200)).json()[0]
    assert created["goal"] == {"type": "url", "url": "/thanks"} and created["traffic_percent"] == 50
    pool = (await tenant.get(f"/api/v1/pools/{created['pool_id']}", 200)).json()
    assert pool["arms"][1]["payload"] == {
        "redirect": "https://example.com/b",
        "style": {"color": "red"},
        "attributes": {"title": "Hi"},
    }
