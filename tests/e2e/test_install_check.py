"""the site page's install in real chromium: "check my install" opens the page, which reports what the tag saw
(tag loaded, origin allowed or refused, experiments found, consent, time to reveal); a refused origin is shown
in red and allowed in one click; the install as the page shows it (gtm custom html plus the anti-flicker line)
never paints the control of an experiment a visitor gets a variant of (issue 13, item 2)."""

from __future__ import annotations

import re
import secrets
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.accessibility import assert_accessible
from tests.e2e.conftest import FixtureSite, Levers
from tests.e2e.dashboard_support import api_token, sign_up
from tests.e2e.tag_support import FRAME_RECORDER, install

pytestmark = pytest.mark.e2e

WRONG_ORIGIN = "https://www.shop.example"
CONTROL_HERO = "Welcome to the shop"


def test_check_my_install_finds_the_refused_origin_and_allows_it(
    context: Any, levers: Levers, fixture_site: FixtureSite, artifacts: Path
) -> None:
    from playwright.sync_api import expect

    dashboard = context.new_page()
    errors: list[str] = []
    dashboard.on("console", lambda m: errors.append(f"{m.text} {m.location.get('url')}") if m.type == "error" else None)
    email = sign_up(dashboard, levers.url)
    with httpx.Client(base_url=levers.url, headers=api_token(levers.url, email), timeout=10) as api:
        # the www / https mismatch of the issue: every request from the real page is refused
        site = api.post("/api/v1/sites", json={"name": "Shop", "allowed_origins": [WRONG_ORIGIN]}).json()
        pool = api.post("/api/v1/pools", json={"name": "hero", "arms": [{"name": "A"}, {"name": "B"}]}).json()
        body = {
            "name": "Hero",
            "key": "hero",
            "pool_id": pool["id"],
            "site_id": site["id"],
            "reward_mode": "conversion",
        }
        api.post("/api/v1/experiments", json=body).raise_for_status()
    fixture_site.head = f'<link rel="stylesheet" href="{levers.url}/t/{site["public_key"]}.css">'
    install(context, site["snippet"])

    dashboard.goto(f"{levers.url}/sites")
    card = dashboard.locator(f"#site-card-{site['id']}")
    # every route of the install, each with the anti-flicker line
    expect(card.locator("#head-1")).to_have_value(
        f'<link rel="stylesheet" href="{levers.url}/t/{site["public_key"]}.css">'
    )
    card.get_by_label("Page", exact=True).fill(f"{fixture_site.origin}/shop.html")
    with context.expect_page() as opened:
        card.get_by_role("button", name="Check my install").click()
    page = opened.value
    expect(page.locator("#levers-check #lv-check-msg")).to_contain_text("Done", timeout=15_000)
    report = card.locator(".check-report")
    expect(report).to_contain_text(f"{fixture_site.origin} is refused", timeout=10_000)
    expect(report).to_contain_text("Tag loaded")
    dashboard.screenshot(path=str(artifacts / "install-check-refused.png"), full_page=True)
    assert_accessible(dashboard, "site page, install check refused")
    assert_accessible(page, "install check panel on the customer's page", root="#levers-check")

    # the refusal of the tag's own request is on the card in red too
    dashboard.reload()
    expect(card.locator(".refused-origin")).to_have_text(fixture_site.origin)
    card.locator(".refused").get_by_role("button", name=f"Allow {fixture_site.origin}").click()
    expect(card.locator(".refused")).to_have_count(0)
    expect(card.get_by_label("Allowed origins of Shop")).to_have_value(re.compile(re.escape(fixture_site.origin)))

    # checked again: allowed, the experiment found and decided, consent granted, a time to reveal
    page.close()
    card.get_by_label("Page", exact=True).fill(f"{fixture_site.origin}/shop.html")
    with context.expect_page() as opened:
        card.get_by_role("button", name="Check my install").click()
    page = opened.value
    expect(page.locator("#levers-check #lv-check-msg")).to_contain_text("Done", timeout=15_000)
    expect(report).to_contain_text(f"{fixture_site.origin} is allowed", timeout=10_000)
    expect(report).to_contain_text("hero: decided")
    expect(report).to_contain_text("Granted")
    expect(report).to_contain_text(re.compile(r"\d+ ms after the page started loading"))
    dashboard.screenshot(path=str(artifacts / "install-check-ok.png"), full_page=True)
    assert_accessible(dashboard, "site page, install check passed")
    assert [e for e in errors if "favicon.ico" not in e] == [], errors


def test_the_install_as_the_site_page_shows_it_does_not_flicker(
    browser: Any, levers: Levers, fixture_site: FixtureSite
) -> None:
    """gtm custom html from the site page, plus its anti-flicker line, on a page without the inline style."""
    with httpx.Client(base_url=levers.url, timeout=10) as api:
        credentials = {"email": f"f-{secrets.token_hex(4)}@example.com", "password": "a long enough password"}
        api.post("/auth/register", json=credentials).raise_for_status()
        api.headers["Authorization"] = "Bearer " + api.post("/auth/login", json=credentials).json()["access_token"]
        site = api.post("/api/v1/sites", json={"name": "s", "allowed_origins": [fixture_site.origin]}).json()
        arms = [
            {"name": "A", "payload": {"text": "Variant A wording"}},
            {"name": "B", "payload": {"text": "Variant B"}},
        ]
        pool = api.post("/api/v1/pools", json={"name": "hero", "arms": arms}).json()
        body = {
            "name": "Hero",
            "key": "hero",
            "pool_id": pool["id"],
            "site_id": site["id"],
            "reward_mode": "conversion",
        }
        api.post("/api/v1/experiments", json=body).raise_for_status()
    fixture_site.head = f'<link rel="stylesheet" href="{levers.url}/t/{site["public_key"]}.css">'
    for _ in range(3):
        visitor = browser.new_context()
        install(visitor, site["snippet"])
        page = visitor.new_page()
        page.add_init_script(FRAME_RECORDER)
        page.goto(f"{fixture_site.origin}/install.html")
        page.locator("#hero[data-levers-arm]").wait_for()
        page.wait_for_function("window.__frames.some(f => f.key === 'hero' && f.visible)")
        frames = page.evaluate("window.__frames.filter(f => f.key === 'hero')")
        assert not frames[0]["visible"]
        assert [f for f in frames if f["visible"] and f["text"] == CONTROL_HERO] == [], frames[:3]
        visitor.close()
