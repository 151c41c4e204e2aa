"""the whole loop in a real browser: sign up, add a site, create and start an experiment, visit the site
through the tag, convert, and see the dashboard count it after the worker trained."""

from __future__ import annotations

import re
import secrets
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import FixtureSite, Levers
from tests.e2e.dashboard_support import sign_up
from tests.e2e.tag_support import install

pytestmark = pytest.mark.e2e


def test_signup_to_counted_conversion(context: Any, levers: Levers, fixture_site: FixtureSite, artifacts: Path) -> None:
    from playwright.sync_api import expect

    page = context.new_page()
    sign_up(page, levers.url)

    page.goto(f"{levers.url}/sites")
    page.get_by_label("Name").fill("Fixture shop")
    page.get_by_label("Allowed origins").fill(fixture_site.origin)
    page.get_by_role("button", name="Add site").click()
    snippet = page.locator("textarea.snippet").first.input_value()
    assert "/t/site_" in snippet

    key = f"cta-{secrets.token_hex(3)}"
    page.goto(f"{levers.url}/experiments/new")
    page.get_by_label("Name", exact=True).fill("Buy button wording")
    page.get_by_label("Key").fill(key)
    page.get_by_label("Site").select_option(label="Fixture shop")
    arms = page.locator("fieldset.arm")
    arms.nth(0).get_by_label("Arm name").fill("Control")
    arms.nth(0).get_by_label("Text shown").fill("Buy")
    arms.nth(1).get_by_label("Arm name").fill("Urgent")
    arms.nth(1).get_by_label("Text shown").fill("Buy now, only today")
    page.get_by_role("button", name="Create experiment").click()
    expect(page).to_have_url(re.compile(r"/experiments/[0-9a-f-]{36}$"))
    page.get_by_role("button", name="Start…").click()
    page.get_by_role("button", name="Start the experiment").click()  # its confirmation dialog
    expect(page.locator("#status")).to_have_text("running")
    dashboard_url = page.url

    fixture_site.experiment_key = key
    # the fixture page keeps google's container snippet; gtm.js is the local simulator, whose container holds
    # the site page's snippet as a custom html tag (headless chromium opts in past the tag's bot filter)
    install(context, snippet)
    visitor = context.new_page()
    visitor.goto(f"{fixture_site.origin}/basic.html")
    cta = visitor.locator("#cta")
    expect(cta).to_have_attribute("data-levers-arm", re.compile("Control|Urgent"), timeout=10_000)
    arm = cta.get_attribute("data-levers-arm")
    expect(cta).to_have_text("Buy" if arm == "Control" else "Buy now, only today")
    expect(cta).to_be_visible()
    visitor.locator("#checkout").click()
    expect(visitor.locator("body")).to_have_attribute("data-converted", "1")

    page.goto(dashboard_url)
    row = page.locator(f'tr[data-arm="{arm}"]')
    # the stats fragment polls itself; the worker drains every second
    expect(row.locator('[data-field="exposures"]')).to_have_text("1", timeout=20_000)
    expect(row.locator('[data-field="feedbacks"]')).to_have_text("1", timeout=20_000)
    page.screenshot(path=str(artifacts / "experiment-counted.png"), full_page=True)

    page.goto(f"{levers.url}/sites")
    expect(page.locator(".site").first).to_contain_text("Tag last seen on")
