"""switching an experiment to a fixed split from the dashboard, and what its page then says."""

from __future__ import annotations

from tests.integration.conftest import Tenant
from tests.integration.pages_support import PageSession

FORM = {
    "name": "cta",
    "arm_count": "2",
    "control_index": "0",
    "arm-0-name": "A",
    "arm-1-name": "B",
    "goal_type": "event",
    "traffic_percent": "100",
    "prob_best": "95",
    "max_expected_loss": "0.5",
    "min_trials_per_arm": "100",
    "practical_difference": "2",
}


async def test_the_form_switches_to_fixed_weights_and_back(tenant: Tenant) -> None:
    pool = await tenant.post("/api/v1/pools", {"name": "p", "arms": [{"name": "A"}, {"name": "B"}]}, 201)
    experiment = (await tenant.post("/api/v1/experiments", {"name": "cta", "pool_id": pool.json()["id"]}, 201)).json()
    page = await PageSession(tenant.client).login(tenant.email)
    path = f"/experiments/{experiment['id']}"

    bad = await page.post(f"{path}/edit", {**FORM, "allocation": "fixed", "weights": "30, 60"})
    assert bad.status_code == 422 and 'id="weights-error"' in bad.text and 'value="30, 60"' in bad.text

    saved = await page.post(f"{path}/edit", {**FORM, "allocation": "fixed", "weights": "30, 70"})
    assert saved.status_code in (302, 303), saved.text
    after = (await tenant.get(f"/api/v1/experiments/{experiment['id']}", 200)).json()
    assert after["allocation"] == "fixed" and after["weights"] == [0.3, 0.7]
    edit = await page.get(f"{path}/edit")
    assert (
        'value="30, 70"' in edit.text
        and 'name="strategy" value="fixed" aria-describedby="strategy-fixed-help" checked' in edit.text
    )
    detail = await page.get(path)
    assert "Fixed (classic A/B test): A 30%, B 70%" in detail.text
    assert "switched to a fixed split 30% / 70%" in detail.text

    saved = await page.post(f"{path}/edit", {**FORM, "allocation": "bandit"})
    assert saved.status_code in (302, 303), saved.text
    detail = await page.get(path)
    assert "Bandit: traffic follows what converts." in detail.text
    assert detail.text.count("switched to") == 2 and "switched to the bandit" in detail.text
