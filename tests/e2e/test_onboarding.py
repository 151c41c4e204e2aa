"""a new marketer's first run in chromium: the checklist advances as the data does, the gtm templates download
from the site page, and the experiment page offers a preview link per arm; axe-clean at desktop and phone size."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.accessibility import PHONE, assert_accessible
from tests.e2e.conftest import Levers
from tests.e2e.dashboard_support import api_token, sign_up

pytestmark = pytest.mark.e2e


def test_first_run_checklist_templates_and_previews(context: Any, levers: Levers, artifacts: Path) -> None:
    from playwright.sync_api import expect

    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    email = sign_up(page, levers.url)
    checklist = page.locator(".onboarding")
    expect(checklist).to_contain_text("0 of 5 done")
    expect(checklist.locator('[aria-current="step"]')).to_contain_text("Add a site")
    assert_accessible(page, "overview with checklist")
    page.screenshot(path=str(artifacts / "onboarding-empty.png"), full_page=True)

    checklist.get_by_role("link", name="Add a site").click()
    page.get_by_label("Name").fill("Shop")
    page.get_by_label("Allowed origins").fill("https://shop.example.com")
    page.get_by_role("button", name="Add site").click()

    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download the setup template").click()
    download = download_info.value
    assert download.suggested_filename == "levers-setup-shop.tpl"
    saved = artifacts / "levers-setup-shop.tpl"
    download.save_as(saved)
    assert "___TERMS_OF_SERVICE___" in saved.read_text()
    assert_accessible(page, "sites with templates")

    page.get_by_role("link", name="Experiments").click()
    expect(checklist).to_contain_text("1 of 5 done")
    expect(checklist.locator('[aria-current="step"]')).to_contain_text("Install the tag")

    # an experiment made through the api counts as much as one made on the page
    headers = api_token(levers.url, email)
    site = httpx.get(f"{levers.url}/api/v1/sites", headers=headers).json()[0]
    arms = [{"name": "Control", "payload": {"text": "Buy"}}, {"name": "Green", "payload": {"text": "Buy now"}}]
    pool = httpx.post(f"{levers.url}/api/v1/pools", headers=headers, json={"name": "cta", "arms": arms}).json()
    body = {"name": "CTA", "key": "cta", "pool_id": pool["id"], "site_id": site["id"], "status": "draft"}
    experiment = httpx.post(f"{levers.url}/api/v1/experiments", headers=headers, json=body).json()
    page.reload()
    expect(page.locator('[data-step="create"]')).to_have_attribute("data-done", "true")
    page.set_viewport_size(PHONE)
    page.screenshot(path=str(artifacts / "onboarding-progress-phone.png"), full_page=True)

    page.goto(f"{levers.url}/experiments/{experiment['id']}")
    preview = page.locator("#preview")
    expect(preview.get_by_role("link", name="Preview “Green”")).to_have_attribute(
        "href", "https://shop.example.com/?levers_force=cta:1&levers_debug=1"
    )
    preview.get_by_label("Page to preview", exact=True).fill("https://shop.example.com/pricing")
    preview.get_by_role("button", name="Update links").click()
    expect(page.locator("#preview").get_by_role("link", name="Preview “Control” (control)")).to_have_attribute(
        "href", "https://shop.example.com/pricing?levers_force=cta:0&levers_debug=1"
    )
    assert_accessible(page, "experiment with previews")
    page.locator("#preview").screenshot(path=str(artifacts / "preview-links.png"))
    assert errors == []
