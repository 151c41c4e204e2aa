"""the results fragment a results page polls: an etag, and 304 with no body while nothing changed.

bad input tried: a stale etag, a weak (W/) etag, `*`, a garbage If-None-Match, another organization's experiment.
"""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.ext.asyncio import create_async_engine

from app.db.models import ArmStatsHourly
from app.settings import Settings
from tests.integration.conftest import Tenant
from tests.integration.pages_support import PageSession, seed_rows
from tests.integration.test_results_page import conversion_experiment


async def test_unchanged_results_are_a_304_without_a_body(
    settings: Settings, tenant: Tenant, other_tenant: Tenant
) -> None:
    experiment = await conversion_experiment(tenant, ["Control", "Green"])
    await tenant.client.put(
        f"/api/v1/experiments/{experiment['id']}", json={"status": "running"}, headers=tenant.headers
    )
    await seed_rows(settings.database_url, experiment["id"], [(500, 20), (500, 30)], hours=6)
    page = await PageSession(tenant.client).login(tenant.email)
    path = f"/experiments/{experiment['id']}/results"

    first = await page.get(path)
    assert first.status_code == 200 and len(first.content) > 5000
    etag = first.headers["etag"]
    assert etag.startswith('"') and first.headers["cache-control"] == "private, no-cache"

    for sent in (etag, f"W/{etag}", f'"nope", {etag}', "*"):
        again = await tenant.client.get(path, headers={"accept": "text/html", "if-none-match": sent})
        assert again.status_code == 304 and again.content == b"", sent
        assert again.headers["etag"] == etag
    for sent in ('"stale"', "garbage", ""):
        fresh = await tenant.client.get(path, headers={"accept": "text/html", "if-none-match": sent})
        assert fresh.status_code == 200 and fresh.headers["etag"] == etag and fresh.text == first.text

    # new visitors change the page, so the old etag no longer matches
    engine = create_async_engine(settings.async_database_url)
    async with engine.begin() as conn:
        await conn.execute(
            update(ArmStatsHourly)
            .where(ArmStatsHourly.experiment_id == experiment["id"], ArmStatsHourly.arm_index == 1)
            .values(exposures=ArmStatsHourly.exposures + 40)
        )
    await engine.dispose()
    changed = await tenant.client.get(path, headers={"accept": "text/html", "if-none-match": etag})
    assert changed.status_code == 200 and changed.headers["etag"] != etag
    assert 'data-live="arms"' in changed.text and "data-poll=" in changed.text

    other = await PageSession(other_tenant.client).login(other_tenant.email)
    assert (await other.get(path)).status_code == 404
