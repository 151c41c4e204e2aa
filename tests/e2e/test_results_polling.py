"""the results page refreshes calmly in chromium: unchanged polls are 304s without a body, a change swaps only the
parts that changed and leaves keyboard focus where it was, a new recommendation is announced in a polite live
region, polling waits while the person is using the results, and the page is axe-clean at desktop and phone size."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from tests.conftest import run_isolated
from tests.e2e.accessibility import assert_accessible
from tests.e2e.conftest import Levers
from tests.e2e.dashboard_support import api_token, seed_hourly, sign_up

pytestmark = pytest.mark.e2e


def execute(database_url: str, sql: str, **params: Any) -> None:
    async def run() -> None:
        engine = create_async_engine(database_url)
        async with engine.begin() as conn:
            await conn.execute(text(sql), params)
        await engine.dispose()

    run_isolated(lambda: asyncio.run(run()))


def test_polling_is_calm(context: Any, levers: Levers, artifacts: Path) -> None:
    from playwright.sync_api import expect

    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    email = sign_up(page, levers.url)
    headers = api_token(levers.url, email)
    arms = [{"name": "Control"}, {"name": "Green"}]
    pool = httpx.post(f"{levers.url}/api/v1/pools", headers=headers, json={"name": "cta", "arms": arms}).json()
    body = {"name": "CTA", "pool_id": pool["id"], "reward_mode": "conversion", "status": "running"}
    experiment = httpx.post(f"{levers.url}/api/v1/experiments", headers=headers, json=body).json()
    # two arms alike: not enough data for a verdict yet
    seed_hourly(levers.settings.database_url, experiment["id"], [0.05, 0.05], days=1)

    polls: list[tuple[int, int]] = []

    def on_response(answer: Any) -> None:
        if answer.url.endswith(f"/experiments/{experiment['id']}/results"):
            polls.append((answer.status, len(answer.body()) if answer.status == 200 else 0))

    page.on("response", on_response)
    page.goto(f"{levers.url}/experiments/{experiment['id']}")
    results = page.locator("#results")
    expect(results).to_have_attribute("data-poll", f"/experiments/{experiment['id']}/results")
    first_kind = page.locator("[data-recommendation]").get_attribute("data-recommendation")
    assert first_kind != "ship"

    # the first poll fetches once, the next ones are 304s with no body
    for _ in range(100):
        if sum(1 for status, _ in polls if status == 304) >= 2:
            break
        page.wait_for_timeout(200)
    assert [status for status, _ in polls][:3] == [200, 304, 304], polls

    # focus on a control inside a part that will change; the data changes; focus stays on that control
    link = page.get_by_role("link", name="per-arm totals")
    link.focus()
    page.evaluate("() => { window.focusedBefore = document.activeElement; }")
    visitors = page.locator('[data-field="total_exposures"]')
    before = visitors.inner_text()
    execute(
        levers.settings.database_url,
        "update arm_stats_hourly set exposures = exposures + 400, feedbacks = feedbacks + 160, "
        "reward_sum = reward_sum + 160, reward_sum_sq = reward_sum_sq + 160 "
        "where experiment_id = :id and arm_index = 1",
        id=experiment["id"],
    )
    expect(visitors).not_to_have_text(before, timeout=15_000)
    assert page.evaluate("() => document.activeElement && document.activeElement.textContent") == "per-arm totals"
    # the link was swapped for a fresh copy (its part changed), and focus moved onto the copy
    assert page.evaluate("() => !window.focusedBefore.isConnected && document.activeElement !== document.body")
    # the heading outside the changed parts is the very same node (not re-rendered)
    assert page.evaluate("() => document.getElementById('results-heading').isConnected")

    # the new recommendation is said once, politely
    announcer = page.locator("#results-announce")
    expect(announcer).to_have_attribute("aria-live", "polite")
    expect(announcer).to_contain_text("Recommendation updated", timeout=15_000)
    assert page.locator("[data-recommendation]").get_attribute("data-recommendation") != first_kind

    # while the person clicks in the results, nothing is fetched
    count = len(polls)
    results.locator(".glossary summary").click()
    page.wait_for_timeout(4_000)
    assert len(polls) == count, polls[count:]
    expect(results.locator(".glossary")).to_have_attribute("open", "")

    page.screenshot(path=str(artifacts / "results-after-poll.png"), full_page=True)
    assert_accessible(page, "results page")
    assert errors == []
