"""a marketer asks "what if" in chromium: pick a policy, see its estimate against what was earned, and a plain
warning when the log can't support it; the event log download link sits with the other downloads."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import run_isolated
from tests.e2e.accessibility import assert_accessible
from tests.e2e.conftest import Levers
from tests.e2e.dashboard_support import api_token, sign_up
from tests.support.event_log import seed_log

pytestmark = pytest.mark.e2e


def test_what_if_estimates_a_policy_and_warns_when_the_log_is_thin(
    context: Any, levers: Levers, artifacts: Path
) -> None:
    from playwright.sync_api import expect

    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.on(
        "console",
        lambda m: problems.append(m.text) if m.type == "error" and "Failed to load resource" not in m.text else None,
    )
    headers = api_token(levers.url, sign_up(page, levers.url))
    arms = [{"name": "Blue"}, {"name": "Green"}]
    pool = httpx.post(f"{levers.url}/api/v1/pools", headers=headers, json={"name": "cta", "arms": arms}).json()
    body = {"name": "Checkout button", "pool_id": pool["id"], "reward_mode": "conversion"}
    experiment = httpx.post(f"{levers.url}/api/v1/experiments", headers=headers, json=body).json()
    # the bandit showed Blue 97% of the time; Green converts 20% against Blue's 5%
    run_isolated(
        lambda: asyncio.run(
            seed_log(levers.settings.database_url, experiment["id"], [0.97, 0.03], [0.05, 0.2], n=4000, seed=5)
        )
    )

    page.goto(f"{levers.url}/experiments/{experiment['id']}")
    expect(page.locator("#events-csv-link")).to_have_attribute(
        "href", f"/experiments/{experiment['id']}/events?format=csv"
    )
    card = page.locator("#what-if")
    expect(card.get_by_role("heading", name="What if")).to_be_visible()

    card.get_by_label("Policy").select_option("uniform")
    card.get_by_role("button", name="Estimate").click()
    result = page.locator("#what-if-result")
    expect(result).to_have_attribute("data-policy", "uniform")
    expect(result.locator('tr[data-estimator="logged"]')).to_contain_text("What the experiment earned")
    for key in ("ips", "snips", "dr"):
        expect(result.locator(f'tr[data-estimator="{key}"] td').first).to_have_text(re.compile(r"^\d+\.\d\d%$"))
    expect(page.locator("#what-if-ess")).to_contain_text("Effective sample size")
    expect(page.locator("#what-if-small-ess")).to_have_count(0)
    page.locator("#what-if").screenshot(path=str(artifacts / "what-if-uniform.png"))
    assert_accessible(page, "what-if with an estimate")

    # always Green: the log holds only a few dozen Green visits to score it on
    card = page.locator("#what-if")
    card.get_by_label("Policy").select_option("epsilon_greedy")
    card.get_by_label("Parameters").fill("epsilon=0, decay=none")
    card.get_by_role("button", name="Estimate").click()
    expect(page.locator("#what-if-result")).to_have_attribute("data-policy", "epsilon_greedy")
    warning = page.locator("#what-if-small-ess")
    expect(warning).to_be_visible()
    expect(warning).to_contain_text("Too little evidence to trust")
    expect(page.get_by_label("Parameters")).to_have_value("epsilon=0, decay=none")  # the form keeps the choice
    page.screenshot(path=str(artifacts / "what-if-small-ess.png"), full_page=True)
    assert_accessible(page, "what-if warning of thin evidence")

    # a bad parameter is named beside its field, swapped in place
    card = page.locator("#what-if")
    card.get_by_label("Parameters").fill("epsilon=2")
    card.get_by_role("button", name="Estimate").click()
    expect(page.locator("#whatif-params-error")).to_contain_text("epsilon")
    expect(page.get_by_label("Parameters")).to_have_attribute("aria-invalid", "true")
    expect(page).to_have_url(f"{levers.url}/experiments/{experiment['id']}")  # htmx: no page change
    assert_accessible(page, "what-if with a parameter error")

    # readable on a phone
    page.set_viewport_size({"width": 390, "height": 844})
    card = page.locator("#what-if")
    card.get_by_label("Policy").select_option("beta_ts")
    card.get_by_label("Parameters").fill("")
    card.get_by_role("button", name="Estimate").click()
    expect(page.locator("#what-if-result")).to_have_attribute("data-policy", "beta_ts")
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 390 + 1
    page.locator("#what-if").screenshot(path=str(artifacts / "what-if-phone.png"))
    assert problems == [], problems
