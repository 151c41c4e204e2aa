"""a marketer's whole path in chromium: sign up, site, api key, experiment, start, traffic through the
public api, a recommendation on the results page, declare the winner, export csv; screenshots saved."""

from __future__ import annotations

import csv
import io
import re
import secrets
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from tests.e2e.conftest import Levers
from tests.e2e.dashboard_support import api_token, seed_hourly, sign_up

pytestmark = pytest.mark.e2e


def send_traffic(
    base_url: str, key: str, experiment_id: str, rates: dict[str, float], visitors: int, first: int = 0
) -> dict[str, int]:
    """visitors through /api/v1/select, conversions through /api/v1/feedback, as a backend would."""
    rng = np.random.default_rng(5 + first)
    served: dict[str, int] = {}
    with httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {key}"}) as client:
        for i in range(first, first + visitors):
            response = client.post("/api/v1/select", json={"experiment_id": experiment_id, "context": {"id": f"v{i}"}})
            assert response.status_code in (200, 201), response.text
            body = response.json()
            arm = body["arm"]["name"]
            served[arm] = served.get(arm, 0) + 1
            if rng.random() < rates[arm]:
                feedback = client.post(
                    "/api/v1/feedback", json={"selection_token": body["selection_token"], "reward": 1}
                )
                assert feedback.status_code == 202, feedback.text
    return served


def test_marketer_runs_an_experiment_to_a_winner(context: Any, levers: Levers, artifacts: Path) -> None:
    from playwright.sync_api import expect

    page = context.new_page()
    page.set_viewport_size({"width": 1280, "height": 900})
    sign_up(page, levers.url)

    page.get_by_role("link", name="Sites").click()
    page.get_by_label("Name").fill("Shop")
    page.get_by_label("Allowed origins").fill("https://shop.example.com")
    page.get_by_role("button", name="Add site").click()
    expect(page.locator(".site")).to_contain_text("Tag not seen yet")
    assert "/t/site_" in page.locator("textarea.snippet").first.input_value()
    page.screenshot(path=str(artifacts / "sites-desktop.png"), full_page=True)

    page.get_by_role("link", name="API keys").click()
    page.get_by_label("Key name").fill("checkout backend")
    page.get_by_role("button", name="Create key").click()
    secret = page.get_by_label("Secret key").input_value()
    assert secret.startswith("lv_")
    expect(page.locator('tr[data-key="checkout backend"] [data-field="last_used"]')).to_have_text("Never")

    # the form keeps what was typed when a field is wrong, and says which one
    page.get_by_role("link", name="Experiments").click()
    page.get_by_role("link", name="New experiment").click()
    page.get_by_label("Name", exact=True).fill("Checkout button")
    key = f"checkout-{secrets.token_hex(3)}"
    page.get_by_label("Key").fill(key)
    page.get_by_label("Site").select_option(label="Shop")
    arms = page.locator("fieldset.arm")
    arms.nth(0).get_by_label("Arm name").fill("Control")
    arms.nth(0).get_by_label("Text shown").fill("Buy")
    arms.nth(1).get_by_label("Arm name").fill("Green")
    arms.nth(1).get_by_label("Text shown").fill("Buy now")
    arms.nth(1).get_by_text("More changes").click()
    arms.nth(1).get_by_label("Style").fill("background: #1a7f37")
    page.get_by_label("A click on an element").check()
    page.get_by_label("Visitors per arm before any verdict").fill("lots")
    page.get_by_role("button", name="Create experiment").click()
    field = page.get_by_label("Visitors per arm before any verdict")
    expect(field).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#min_trials_per_arm-error")).to_contain_text("whole number")
    expect(page.locator("#goal_selector-error")).to_be_visible()
    expect(page.locator("fieldset.arm").nth(1).get_by_label("Text shown")).to_have_value("Buy now")
    expect(page.get_by_label("Name", exact=True)).to_have_value("Checkout button")
    page.set_viewport_size({"width": 390, "height": 844})
    page.screenshot(path=str(artifacts / "experiment-form-errors-phone.png"), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 900})
    # default thresholds: the starved control no longer blocks the verdict (issue 11)
    field.fill("100")
    page.get_by_label("Element to click").fill("#checkout")
    page.get_by_role("button", name="Create experiment").click()
    expect(page).to_have_url(re.compile(r"/experiments/[0-9a-f-]{36}$"))
    experiment_id = page.url.rsplit("/", 1)[-1]
    expect(page.locator("#status")).to_have_text("draft")

    page.get_by_role("button", name="Start…").click()
    page.get_by_role("button", name="Start the experiment").click()  # its confirmation dialog
    expect(page.locator("#status")).to_have_text("running")
    expect(page.locator("#results")).to_have_attribute("data-poll", f"/experiments/{experiment_id}/results")

    # the results poll themselves until the worker has trained on every event and the rule calls it. the
    # peeking-proof rule may want a few more visitors than 400 when the starved control got a conversion by
    # chance ("about N more visitors"): send them in steps, as a live site would, until the verdict arrives
    rates = {"Control": 0.04, "Green": 0.3}
    recommendation = page.locator("[data-recommendation]")
    sent = 0
    for step in (400, 100, 100, 100, 100, 200):
        served = send_traffic(levers.url, secret, experiment_id, rates, visitors=step, first=sent)
        sent += step
        assert sum(served.values()) == step
        expect(page.locator('[data-field="total_exposures"]')).to_have_text(f"{sent:,}", timeout=30_000)
        expect(recommendation).not_to_have_attribute("data-recommendation", "none", timeout=30_000)
        if recommendation.get_attribute("data-recommendation") == "ship":
            break
    expect(recommendation).to_have_attribute("data-recommendation", "ship", timeout=30_000)
    expect(recommendation).to_contain_text("Ship Green")
    total = page.locator('tr[data-arm="Control"] [data-field="exposures"]').inner_text()
    total_green = page.locator('tr[data-arm="Green"] [data-field="exposures"]').inner_text()
    assert int(total.replace(",", "")) + int(total_green.replace(",", "")) == sent
    green = page.locator('tr[data-arm="Green"]')
    expect(green.locator('[data-field="prob_best"]')).to_contain_text(re.compile(r"(9\d\.\d|>99\.9)%"))
    expect(green.locator('[data-field="lift"]')).to_contain_text("+")
    expect(green.locator('[data-field="traffic_share"]')).to_contain_text("%")
    for chart in ("density", "traffic", "prob_best", "rate"):
        expect(page.locator(f'canvas[data-chart="{chart}"]')).to_have_attribute("data-drawn", "1")
    page.get_by_text("Show as a table").first.click()
    expect(page.locator("#table-density")).to_contain_text("Green")
    page.screenshot(path=str(artifacts / "results-desktop.png"), full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})
    expect(page.locator('canvas[data-chart="density"]')).to_have_attribute("data-drawn", "1")
    page.screenshot(path=str(artifacts / "results-phone.png"), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 900})

    # the totals csv, downloaded as a file
    with page.expect_download() as download_info:
        page.get_by_role("link", name="per-arm totals").click()
    rows = list(csv.DictReader(io.StringIO(Path(download_info.value.path()).read_text())))
    assert [r["arm"] for r in rows] == ["Control", "Green"]
    assert sum(int(r["exposures"]) for r in rows) == sent
    assert float(rows[1]["prob_best"]) > 0.9
    hourly = page.request.get(f"{levers.url}/experiments/{experiment_id}/hourly.csv")
    assert hourly.ok and hourly.text().startswith("hour,arm_index,arm,exposures")
    assert sum(int(r["exposures"]) for r in csv.DictReader(io.StringIO(hourly.text()))) == sent

    page.get_by_role("button", name="Declare a winner…").click()
    winner = page.get_by_role("dialog", name=re.compile("Declare a winner"))
    winner.get_by_label("Green").check()
    winner.get_by_role("button", name="Declare the winner").click()
    expect(page.locator("#status")).to_have_text("completed")
    expect(page.locator("#winner-banner")).to_contain_text("Winner: Green")
    expect(page.locator('tr[data-arm="Green"] [data-field="traffic_share"]')).to_have_text("100%")
    # completed: the results stay and no longer poll
    expect(page.locator("#results")).not_to_have_attribute("hx-get", re.compile(".*"))
    expect(page.locator('tr[data-arm="Green"] [data-field="exposures"]')).to_have_text(total_green)

    with httpx.Client(base_url=levers.url, headers={"Authorization": f"Bearer {secret}"}) as client:
        for i in range(5):
            body = client.post("/api/v1/select", json={"experiment_id": experiment_id, "context": {"id": f"late{i}"}})
            assert body.json()["arm"]["name"] == "Green"
            assert body.json()["reason"] == "winner"
        late = client.post("/api/v1/feedback", json={"selection_token": body.json()["selection_token"], "reward": 1})
        assert late.status_code == 422  # learning stopped: feedback is closed

    page.get_by_role("link", name="API keys").click()
    expect(page.locator('tr[data-key="checkout backend"] [data-field="last_used"]')).not_to_have_text("Never")


def test_results_page_with_ninety_days_of_history(context: Any, levers: Levers, artifacts: Path) -> None:
    from playwright.sync_api import expect

    page = context.new_page()
    page.set_viewport_size({"width": 1280, "height": 900})
    email = sign_up(page, levers.url)
    headers = api_token(levers.url, email)
    names = ["Control", "Free shipping", "Save 10%", "Bundle"]
    pool = httpx.post(
        f"{levers.url}/api/v1/pools",
        headers=headers,
        json={"name": "offers", "arms": [{"name": n, "payload": {"text": n}} for n in names]},
    ).json()
    experiment = httpx.post(
        f"{levers.url}/api/v1/experiments",
        headers=headers,
        json={"name": "Offer banner", "pool_id": pool["id"], "reward_mode": "conversion", "status": "draft"},
    ).json()
    seed_hourly(levers.settings.database_url, experiment["id"], [0.040, 0.046, 0.041, 0.039], days=90)
    page.goto(f"{levers.url}/experiments/{experiment['id']}")
    expect(page.locator("[data-recommendation]")).not_to_have_attribute("data-recommendation", "none")
    for chart in ("density", "traffic", "prob_best", "rate"):
        expect(page.locator(f'canvas[data-chart="{chart}"]')).to_have_attribute("data-drawn", "1")
    # a draft does not poll
    expect(page.locator("#results")).not_to_have_attribute("hx-get", re.compile(".*"))
    page.screenshot(path=str(artifacts / "results-history-desktop.png"), full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})
    page.screenshot(path=str(artifacts / "results-history-phone.png"), full_page=True)
