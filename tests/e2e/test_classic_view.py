"""a marketer's classic a/b test in chromium: the sample ratio warning, and the frequentist toggle."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import Levers
from tests.e2e.dashboard_support import api_token, seed_hourly, sign_up

pytestmark = pytest.mark.e2e


def test_the_frequentist_toggle_and_the_srm_warning(context: Any, levers: Levers, artifacts: Path) -> None:
    from playwright.sync_api import expect

    page = context.new_page()
    headers = api_token(levers.url, sign_up(page, levers.url))
    arms = [{"name": "Blue"}, {"name": "Green"}]
    pool = httpx.post(f"{levers.url}/api/v1/pools", headers=headers, json={"name": "cta", "arms": arms}).json()
    experiment = httpx.post(
        f"{levers.url}/api/v1/experiments",
        headers=headers,
        json={
            "name": "Checkout button",
            "pool_id": pool["id"],
            "reward_mode": "conversion",
            "allocation": "fixed",
            "weights": [0.3, 0.7],
        },
    ).json()
    # hourly rows whose traffic drifts to the second arm: far from the 30/70 the split promises
    seed_hourly(levers.settings.database_url, experiment["id"], [0.04, 0.05], days=14)

    page.goto(f"{levers.url}/experiments/{experiment['id']}")
    expect(page.locator("#srm-warning")).to_contain_text("Sample ratio mismatch")
    expect(page.locator("#allocation")).to_contain_text("Fixed (classic A/B test): Blue 30%, Green 70%")
    expect(page.locator("#frequentist")).to_have_count(0)
    expect(page.locator('tr[data-arm="Green"] [data-field="traffic_share"]')).to_have_text("70%")
    expect(page.get_by_role("button", name="Bayesian")).to_have_attribute("aria-pressed", "true")

    page.get_by_role("button", name="Frequentist (classic A/B)").click()
    expect(page.locator("#frequentist")).to_be_visible()
    expect(page.get_by_role("button", name="Frequentist (classic A/B)")).to_have_attribute("aria-pressed", "true")
    green = page.locator('#frequentist tr[data-arm="Green"]')
    expect(green.locator('[data-field="p_value"]')).to_have_text(re.compile(r"^[0-9.e-]+$"))
    expect(green.locator('[data-field="always_valid_p_value"]')).to_have_text(re.compile(r"^[0-9.e-]+$"))
    expect(page.locator('#frequentist tr[data-arm="Blue"] [data-field="wilson"]')).to_contain_text("%")
    page.screenshot(path=str(artifacts / "classic-frequentist-view.png"), full_page=True)

    # the choice is the experiment's: it survives a reload and the self-polling fragment
    page.reload()
    expect(page.locator("#frequentist")).to_be_visible()
    page.get_by_role("button", name="Bayesian").click()
    expect(page.locator("#frequentist")).to_have_count(0)
