"""roles in chromium: an owner invites a viewer by link; the viewer sees results but can change nothing,
neither on the pages nor through the api; a promotion applies on the viewer's next click."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import Levers
from tests.e2e.dashboard_support import PASSWORD, api_token, csrf_headers, sign_up

pytestmark = pytest.mark.e2e


def test_viewer_invited_by_link_cannot_change_anything(browser: Any, levers: Levers, artifacts: Path) -> None:
    from playwright.sync_api import expect

    owner_context = browser.new_context()
    viewer_context = browser.new_context()
    try:
        owner = owner_context.new_page()
        owner_email = sign_up(owner, levers.url)
        headers = api_token(levers.url, owner_email)
        pool = httpx.post(
            f"{levers.url}/api/v1/pools",
            headers=headers,
            json={"name": "hero", "arms": [{"name": "Blue"}, {"name": "Green"}]},
        ).json()
        experiment = httpx.post(
            f"{levers.url}/api/v1/experiments",
            headers=headers,
            json={"name": "Hero colour", "pool_id": pool["id"], "status": "draft"},
        ).json()
        site = httpx.post(f"{levers.url}/api/v1/sites", headers=headers, json={"name": "Main site"}).json()

        owner.goto(f"{levers.url}/team")
        owner.get_by_label("Role", exact=True).select_option("viewer")
        owner.get_by_role("button", name="Create invitation link").click()
        link = owner.get_by_label("Invitation link").input_value()
        assert re.match(rf"{re.escape(levers.url)}/invite/inv_", link)

        viewer = viewer_context.new_page()
        viewer.goto(link)
        expect(viewer.get_by_role("heading", level=1)).to_contain_text("Join")
        viewer.get_by_label("Work email").fill(viewer_email := f"viewer-{experiment['id'][:8]}@example.com")
        viewer.get_by_label("Password").fill(PASSWORD)
        viewer.get_by_role("button", name="Create account and join").click()
        expect(viewer).to_have_url(f"{levers.url}/experiments")
        expect(viewer.get_by_role("link", name="Hero colour")).to_be_visible()
        # the link works once
        assert httpx.get(link).status_code == 404

        # pages: nothing to click that changes anything
        expect(viewer.get_by_role("link", name="New experiment")).to_have_count(0)
        expect(viewer.get_by_role("link", name="API keys")).to_have_count(0)
        viewer.get_by_role("link", name="Hero colour").click()
        expect(viewer.locator("#status")).to_have_text("draft")
        for name in ("Start", "Edit", "Declare winner"):
            expect(viewer.get_by_role("button", name=name)).to_have_count(0)
        expect(viewer.get_by_role("link", name="Edit")).to_have_count(0)
        viewer.goto(f"{levers.url}/sites")
        expect(viewer.locator(".site")).to_contain_text("Main site")
        expect(viewer.get_by_role("button", name="Add site")).to_have_count(0)
        expect(viewer.get_by_role("button", name="Save origins")).to_have_count(0)
        viewer.goto(f"{levers.url}/team")
        expect(viewer.get_by_role("button", name="Create invitation link")).to_have_count(0)
        viewer.screenshot(path=str(artifacts / "team-viewer.png"), full_page=True)

        # pages: posting anyway is refused, with a valid csrf token
        csrf = csrf_headers(viewer_context)
        exp_url = f"{levers.url}/experiments/{experiment['id']}"
        refused = {
            f"{exp_url}/status": {"action": "start"},
            f"{exp_url}/winner": {"winner_index": "1"},
            f"{exp_url}/edit": {"name": "hacked"},
            f"{levers.url}/experiments": {"name": "new"},
            f"{levers.url}/sites": {"name": "new site"},
            f"{levers.url}/sites/{site['id']}": {"allowed_origins": "https://evil.example"},
            f"{levers.url}/api-keys": {"name": "mine"},
            f"{levers.url}/team/invitations": {"role": "owner"},
        }
        for url, form in refused.items():
            response = viewer.request.post(url, form=form, headers=csrf, max_redirects=0)
            assert response.status == 403, (url, response.status)
        assert viewer.request.get(f"{levers.url}/api-keys", max_redirects=0).status == 403
        assert viewer.request.get(f"{exp_url}/edit", max_redirects=0).status == 403

        # api: reads work, every change is 403
        viewer_api = api_token(levers.url, viewer_email)
        with httpx.Client(base_url=levers.url, headers=viewer_api) as api:
            assert api.get(f"/api/v1/experiments/{experiment['id']}").status_code == 200
            assert api.get("/api/v1/team/members").status_code == 200
            changes = [
                api.put(f"/api/v1/experiments/{experiment['id']}", json={"status": "running"}),
                api.post("/api/v1/experiments", json={"name": "x", "pool_id": pool["id"]}),
                api.delete(f"/api/v1/experiments/{experiment['id']}"),
                api.post("/api/v1/pools", json={"name": "p", "arms": [{"name": "a"}, {"name": "b"}]}),
                api.post("/api/v1/sites", json={"name": "s"}),
                api.post("/auth/api-keys", json={"name": "k"}),
                api.post("/api/v1/team/invitations", json={"role": "admin"}),
            ]
            assert [r.status_code for r in changes] == [403] * len(changes)
        assert httpx.get(f"{levers.url}/api/v1/experiments/{experiment['id']}", headers=headers).json()["status"] == (
            "draft"
        )

        # the owner promotes the viewer; the viewer's next page shows the editor's controls
        owner.goto(f"{levers.url}/team")
        row = owner.locator(f'tr[data-member="{viewer_email}"]')
        row.get_by_label(f"Role of {viewer_email}").select_option("editor")
        row.get_by_role("button", name="Change role").click()
        expect(owner.locator(f'tr[data-member="{viewer_email}"] select')).to_have_value("editor")
        viewer.goto(f"{levers.url}/experiments/{experiment['id']}")
        expect(viewer.get_by_role("button", name="Start")).to_be_visible()

        # and removing the member ends their access at once
        owner.locator(f'tr[data-member="{viewer_email}"]').get_by_role("button", name="Remove").click()
        expect(owner.locator(f'tr[data-member="{viewer_email}"]')).to_have_count(0)
        viewer.goto(f"{levers.url}/experiments")
        expect(viewer).to_have_url(re.compile(r"/login"))
    finally:
        owner_context.close()
        viewer_context.close()
