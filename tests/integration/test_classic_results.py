"""the classic a/b figures in the stats api and on the results page, from real hourly rows in postgres."""

from __future__ import annotations

import pytest
from scipy import stats
from statsmodels.stats.proportion import confint_proportions_2indep, proportion_confint, proportions_ztest

from app.settings import Settings
from tests.integration.conftest import Tenant
from tests.integration.pages_support import PageSession, seed_rows


async def test_stats_api_has_srm_and_frequentist_figures(tenant: Tenant, settings: Settings) -> None:
    experiment = await tenant.experiment(allocation="fixed", weights=[0.5, 0.5], reward_mode="conversion")
    # one arm lost 8% of its visitors before they were counted: a sample ratio mismatch
    per_arm = [(5000, 200), (4600, 230)]
    await seed_rows(settings.database_url, experiment["id"], per_arm, hours=24)
    body = (await tenant.get(f"/api/v1/experiments/{experiment['id']}/stats", 200)).json()
    assert body["srm_p_value"] == pytest.approx(stats.chisquare([5000, 4600]).pvalue, rel=1e-9)
    assert body["srm_p_value"] < 0.001
    control, arm = body["arms"]
    for row, (n, x) in zip(body["arms"], per_arm, strict=True):
        low, high = proportion_confint(x, n, method="wilson")
        assert (row["wilson_low"], row["wilson_high"]) == pytest.approx((low, high), abs=1e-6)
    assert control["p_value"] is None and control["diff_ci_low"] is None
    assert arm["p_value"] == pytest.approx(proportions_ztest([230, 200], [4600, 5000])[1], abs=1e-6)
    low, high = confint_proportions_2indep(230, 4600, 200, 5000, method="wald", compare="diff")
    assert (arm["diff_ci_low"], arm["diff_ci_high"]) == pytest.approx((low, high), abs=1e-6)
    assert arm["p_value"] <= arm["always_valid_p_value"] <= 1


async def test_a_bandit_has_no_srm_and_a_healthy_split_no_warning(tenant: Tenant, settings: Settings) -> None:
    bandit = await tenant.experiment(reward_mode="conversion")
    await seed_rows(settings.database_url, bandit["id"], [(5000, 200), (1000, 60)], hours=10)
    assert (await tenant.get(f"/api/v1/experiments/{bandit['id']}/stats", 200)).json()["srm_p_value"] is None
    fixed = await tenant.experiment(allocation="fixed", weights=[0.2, 0.8], reward_mode="conversion")
    await seed_rows(settings.database_url, fixed["id"], [(2010, 80), (7990, 330)], hours=10)
    assert (await tenant.get(f"/api/v1/experiments/{fixed['id']}/stats", 200)).json()["srm_p_value"] > 0.5
    page = await PageSession(tenant.client).login(tenant.email)
    assert 'id="srm-warning"' not in (await page.get(f"/experiments/{fixed['id']}")).text


async def test_results_page_warns_of_srm_and_toggles_the_frequentist_view(tenant: Tenant, settings: Settings) -> None:
    experiment = await tenant.experiment(allocation="fixed", weights=[0.5, 0.5], reward_mode="conversion")
    await seed_rows(settings.database_url, experiment["id"], [(5000, 200), (4600, 230)], hours=24)
    page = await PageSession(tenant.client).login(tenant.email)
    path = f"/experiments/{experiment['id']}"
    shown = await page.get(path)
    assert 'id="srm-warning"' in shown.text and "redirect" in shown.text and "consent" in shown.text
    assert 'id="frequentist"' not in shown.text  # bayesian by default
    toggled = await page.post(f"{path}/results-view", {"results_view": "frequentist"})
    assert toggled.status_code in (302, 303)
    assert (await tenant.get(f"/api/v1/experiments/{experiment['id']}", 200)).json()["results_view"] == "frequentist"
    shown = await page.get(path)
    assert 'id="frequentist"' in shown.text and "Always-valid p-value" in shown.text
    fragment = await page.get(f"{path}/results")
    assert 'id="frequentist"' in fragment.text and 'data-field="always_valid_p_value"' in fragment.text
    bad = await page.post(f"{path}/results-view", {"results_view": "both"})
    assert bad.status_code == 422
    await page.post(f"{path}/results-view", {"results_view": "bayesian"})
    assert 'id="frequentist"' not in (await page.get(path)).text
