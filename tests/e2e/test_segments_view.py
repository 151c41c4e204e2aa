"""segments and the report period in chromium: visitors selected through the api with their device, country,
language, utm source and visitor type, counted by the real worker, shown per dimension; then the date range and
granularity controls reshape the charts. and the tag's own part: the first-seen time that tells new visitors."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from tests.e2e.conftest import FixtureSite, Levers
from tests.e2e.dashboard_support import api_token, seed_hourly, sign_up
from tests.e2e.tag_support import Org, Traffic, claims, install, poll

pytestmark = pytest.mark.e2e

VISITORS = 240


def select_visitors(base: str, headers: dict[str, str], experiment_id: str) -> None:
    """real selections and conversions: mobile visitors of the second arm convert far more often."""
    rng = np.random.default_rng(7)
    devices, sources, countries = ["desktop", "mobile", "tablet"], ["google", "newsletter", "facebook"], ["DE", "FR"]
    with httpx.Client(base_url=base, headers=headers, timeout=10) as client:
        for i in range(VISITORS):
            metadata = {
                "device": devices[i % 3],
                "utm_source": sources[i // 3 % 3],
                "utm_medium": "cpc" if i % 2 else "email",
                "visitor_type": "new" if i % 4 else "returning",
            }
            body = {"experiment_id": experiment_id, "context": {"id": f"visitor-{i}", "metadata": metadata}}
            extra = {"cf-ipcountry": countries[i % 2], "accept-language": "de-DE" if i % 2 == 0 else "fr-FR"}
            response = client.post("/api/v1/select", json=body, headers=extra)
            response.raise_for_status()
            selected = response.json()
            rate = 0.6 if metadata["device"] == "mobile" and selected["arm"]["index"] == 1 else 0.15
            if rng.random() < rate:
                client.post("/api/v1/feedback", json={"selection_token": selected["selection_token"], "reward": 1})


def wait_counted(page: Any, base: str, experiment_id: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        text = page.request.get(f"{base}/experiments/{experiment_id}/segments.csv").text()
        rows = [line.split(",") for line in text.splitlines()[1:] if line.startswith("device,")]
        if sum(int(r[5]) for r in rows) == VISITORS:
            return
        time.sleep(0.5)
    raise AssertionError("the worker did not count every visitor by segment within a minute")


def test_the_segment_tables_and_the_report_period(context: Any, levers: Levers, artifacts: Path) -> None:
    from playwright.sync_api import expect

    page = context.new_page()
    errors: list[str] = []
    # resources are checked by their responses below (chromium's own favicon request is no page's)
    page.on(
        "console",
        lambda m: errors.append(m.text) if m.type == "error" and "Failed to load resource" not in m.text else None,
    )
    page.on("pageerror", lambda e: errors.append(str(e)))
    failed: list[str] = []
    page.on("response", lambda r: failed.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    headers = api_token(levers.url, sign_up(page, levers.url))
    arms = [{"name": "Blue"}, {"name": "Green"}]
    pool = httpx.post(f"{levers.url}/api/v1/pools", headers=headers, json={"name": "cta", "arms": arms}).json()
    experiment = httpx.post(
        f"{levers.url}/api/v1/experiments",
        headers=headers,
        json={"name": "Signup button", "pool_id": pool["id"], "reward_mode": "conversion", "allocation": "fixed"},
    ).json()
    eid = experiment["id"]
    seed_hourly(levers.settings.database_url, eid, [0.04, 0.05], days=21)
    select_visitors(levers.url, headers, eid)
    wait_counted(page, levers.url, eid)

    page.goto(f"{levers.url}/experiments/{eid}")
    segments = page.locator("#segments")
    expect(segments.locator("#segments-warning")).to_contain_text("Many comparisons")
    device = page.locator("#segments-device")
    expect(device.locator("caption")).to_contain_text("comparisons with the control")
    expect(device.locator('tr[data-segment="mobile"]')).to_have_count(2)
    expect(
        device.locator('tr[data-segment="mobile"][data-segment-arm="Green"] [data-segment-field="diff"]')
    ).to_contain_text("pts")
    expect(
        device.locator('tr[data-segment="mobile"][data-segment-arm="Green"] [data-segment-field="p_holm"]')
    ).to_have_text(re.compile(r"^[0-9.e-]+$"))
    expect(page.locator('#segments-country tr[data-segment="DE"]')).to_have_count(2)
    expect(page.locator('#segments-language tr[data-segment="fr"]')).to_have_count(2)
    expect(page.locator('#segments-visitor tr[data-segment="returning"] th')).to_have_text(["Returning", "Returning"])
    expect(page.locator('#segments-utm_source tr[data-segment="newsletter"]')).to_have_count(2)
    segments.scroll_into_view_if_needed()
    page.screenshot(path=str(artifacts / "segments-table.png"), full_page=True)
    segments.screenshot(path=str(artifacts / "segments-table-only.png"))

    # the report period: weekly points, then one week at daily points
    expect(page.locator("#report-range")).to_contain_text("day")
    page.get_by_label("one point per").select_option("week")
    page.get_by_role("button", name="Apply").click()
    expect(page).to_have_url(re.compile(r"granularity=week"))
    expect(page.locator("figure:has(#chart-rate-title) .hint").last).to_contain_text("One point per 1 week")
    today = datetime.now(UTC).date()
    start = today - timedelta(days=6)
    page.get_by_label("From").first.fill(start.isoformat())
    page.get_by_label("to", exact=True).first.fill(today.isoformat())
    page.get_by_label("one point per").select_option("day")
    page.get_by_role("button", name="Apply").click()
    expect(page).to_have_url(re.compile(rf"start={start}&end={today}&granularity=day"))
    expect(page.locator("figure:has(#chart-rate-title) .hint").last).to_contain_text("One point per 1 day")
    expect(page.locator("#table-traffic tbody tr")).to_have_count(7)
    expect(page.locator("#report-series-csv")).to_have_attribute(
        "href", f"/experiments/{eid}/series.csv?start={start}&end={today}&granularity=day"
    )
    expect(page.locator("#report-reset")).to_be_visible()
    page.locator("#report-range").scroll_into_view_if_needed()
    page.screenshot(path=str(artifacts / "report-period-week-by-day.png"), full_page=True)

    # an end before the start is refused, naming the field
    page.get_by_label("From").first.fill(today.isoformat())
    page.get_by_label("to", exact=True).first.fill(start.isoformat())
    assert not failed, failed
    page.get_by_role("button", name="Apply").click()
    expect(page.locator("body")).to_contain_text("the end date is before the start date")
    assert [f.split()[0] for f in failed] == ["422"]
    page.screenshot(path=str(artifacts / "report-period-refused.png"), full_page=True)

    # on a phone the segment tables stack into readable cards
    phone = context.new_page()
    phone.set_viewport_size({"width": 390, "height": 844})
    phone.goto(f"{levers.url}/experiments/{eid}")
    expect(phone.locator("#segments-device")).to_be_visible()
    phone.locator("#segments").screenshot(path=str(artifacts / "segments-phone.png"))
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= 390 + 1, f"the page scrolls sideways on a phone ({width}px)"
    assert not errors, errors


def test_the_tag_tells_new_from_returning_visitors(
    context: Any, browser: Any, levers: Levers, fixture_site: FixtureSite
) -> None:
    from playwright.sync_api import expect

    org = Org(levers, fixture_site.origin)
    try:
        org.experiment("hero", [("A", {"text": "Variant A wording"}), ("B", {"text": "Variant B wording"})])
        install(context, org.snippet)
        page = context.new_page()
        traffic = Traffic(page)
        before = time.time()
        page.goto(f"{fixture_site.origin}/shop.html?utm_source=Newsletter&utm_medium=email")
        expect(page.locator("#hero")).to_have_attribute("data-levers-arm", re.compile("A|B"))
        first_seen = traffic.decides[0]["body"]["n"]
        assert before - 2 <= first_seen <= time.time() + 2
        # the tag applies the arm as the answer arrives; playwright hands the answer to python a moment later
        poll(lambda: traffic.decisions, page)
        segment = claims(traffic.decision("hero")["t"])["s"]
        assert segment[0] == "desktop" and segment[3:] == ["newsletter", "email", "new"]
        # the next page view keeps the first-seen time
        page.goto(f"{fixture_site.origin}/shop.html")
        expect(page.locator("#hero")).to_have_attribute("data-levers-arm", re.compile("A|B"))
        assert traffic.decides[-1]["body"]["n"] == first_seen

        # a visitor whose id the tag stored before it kept the time is a returning one
        older = browser.new_context()
        try:
            older.add_cookies([{"name": "levers_id", "value": "a" * 32, "url": fixture_site.origin}])
            install(older, org.snippet)
            back = older.new_page()
            back_traffic = Traffic(back)
            back.goto(f"{fixture_site.origin}/shop.html")
            expect(back.locator("#hero")).to_have_attribute("data-levers-arm", re.compile("A|B"))
            assert back_traffic.decides[0]["body"]["n"] == 1 and back_traffic.decides[0]["body"]["v"] == "a" * 32
            poll(lambda: back_traffic.decisions, back)
            assert claims(back_traffic.decision("hero")["t"])["s"][5] == "returning"
        finally:
            older.close()
    finally:
        org.client.close()
