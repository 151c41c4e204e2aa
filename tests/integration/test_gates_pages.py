"""the gate pages: create and edit through the form; a bad rule is shown on its line, nothing saved."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from tests.integration.conftest import Tenant, register


@pytest.fixture
async def browser(client: AsyncTestClient[Litestar]) -> AsyncIterator[AsyncTestClient[Litestar]]:
    # the shared client: a second app in one process gets renamed app-state keys from advanced-alchemy
    client.cookies.clear()
    yield client
    client.cookies.clear()


async def log_in(browser: AsyncTestClient[Litestar], tenant: Tenant) -> dict[str, str]:
    await browser.get("/login")
    csrf = {"x-csrftoken": browser.cookies["csrftoken"]}
    response = await browser.post(
        "/login", data={"email": tenant.email, "password": "correct horse battery"}, headers=csrf
    )
    assert response.status_code in {200, 302, 303}, response.text
    return csrf


async def test_gate_form_creates_edits_and_points_at_the_bad_line(browser: AsyncTestClient[Litestar]) -> None:
    tenant = await register(browser)
    experiment = await tenant.experiment(arms=2)
    csrf = await log_in(browser, tenant)
    page = await browser.get(f"/gates/new?experiment_id={experiment['id']}")
    assert page.status_code == 200 and "Targeting rules" in page.text

    form = {
        "experiment_id": experiment["id"],
        "name": "dach only",
        "enabled": "1",
        "rollout_percent": "25",
        "default_arm": "0",
        "rules": "[dach] country in DE, AT -> serve arm-1\ncountry eq FR -> exclude\npath regex ([ -> serve 0",
        "schedule_on": "1",
        "timezone": "Europe/Berlin",
        "hours_from": "08:00",
        "hours_to": "20:00",
        "day-0": "1",
        "day-4": "1",
    }
    bad = await browser.post("/gates", data=form, headers=csrf)
    assert bad.status_code == 422 and bad.headers["content-type"].startswith("text/html")
    assert "line 3 (rules[2].condition.value)" in bad.text and "invalid regex" in bad.text
    assert (await tenant.get(f"/api/v1/gates?experiment_id={experiment['id']}", 200)).json() == []

    form["rules"] = form["rules"].rsplit("\n", 1)[0]
    created = await browser.post("/gates", data=form, headers=csrf, follow_redirects=False)
    assert created.status_code in {302, 303}, created.text
    gates = (await tenant.get(f"/api/v1/gates?experiment_id={experiment['id']}", 200)).json()
    assert len(gates) == 1
    gate = gates[0]
    assert gate["name"] == "dach only" and gate["rollout_percent"] == 25 and gate["default_arm"] == 0
    assert [(r["id"], r["action"], r["arm"]) for r in gate["rules"]] == [("dach", "serve", 1), ("r1", "exclude", None)]
    assert gate["rules"][0]["condition"] == {
        "attribute": "country",
        "operator": "in",
        "value": ["DE", "AT"],
        "ignore_case": False,
    }
    assert gate["schedule"]["days"] == [0, 4] and gate["schedule"]["hours_to"] == "20:00"

    # the edit page shows the rules as they were typed, and saving them unchanged keeps them
    page = await browser.get(f"/gates/{gate['id']}")
    assert "[dach] country in DE, AT -&gt; serve arm-1" in page.text
    edit = {**form, "rules": "[dach] country in DE, AT -> serve arm-1\n[r1] country eq FR -> exclude"}
    edit.pop("enabled")
    saved = await browser.post(f"/gates/{gate['id']}", data=edit, headers=csrf, follow_redirects=False)
    assert saved.status_code in {302, 303}, saved.text
    after = (await tenant.get(f"/api/v1/gates/{gate['id']}", 200)).json()
    assert after["enabled"] is False and after["rules"] == gate["rules"]
    listing = await browser.get("/gates")
    assert "dach only" in listing.text

    deleted = await browser.post(f"/gates/{gate['id']}/delete", headers=csrf, follow_redirects=False)
    assert deleted.status_code in {302, 303}
    await tenant.get(f"/api/v1/gates/{gate['id']}", 404)
