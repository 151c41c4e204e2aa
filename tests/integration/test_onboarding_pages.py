"""the overview's first-run checklist follows the organization's data; preview links per arm; gtm template downloads.

bad input tried: a preview page address that is not http(s) (`javascript:`), another organization's progress.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any

from tests.integration.conftest import Tenant
from tests.integration.pages_support import PageSession
from tests.integration.test_tag_api import ORIGIN, PLAIN


def steps(html: str) -> dict[str, str]:
    return dict(re.findall(r'data-step="(\w+)"\s+data-done="(true|false)"', html))


def next_step(html: str) -> str | None:
    found = re.search(r'data-step="(\w+)"\s+data-done="false"\s+aria-current="step"', html)
    return found.group(1) if found else None


async def overview(tenant: Tenant) -> str:
    page = await PageSession(tenant.client).login(tenant.email)
    response = await page.get("/experiments")
    assert response.status_code == 200
    return str(response.text)


async def seen(tenant: Tenant, site: dict[str, Any]) -> None:
    response = await tenant.client.post(
        f"/p/{site['public_key']}/d", content='{"v":"v1","x":[],"u":"https://shop.example/pricing"}', headers=PLAIN
    )
    assert response.status_code == 200, response.text
    for _ in range(100):  # the sighting rides the next flush
        if (await tenant.get(f"/api/v1/sites/{site['id']}", 200)).json()["last_seen_at"]:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the tag's sighting never landed")


async def test_the_checklist_follows_real_progress(tenant: Tenant, other_tenant: Tenant) -> None:
    html = await overview(tenant)
    assert steps(html) == dict.fromkeys(["site", "install", "check", "create", "start"], "false")
    assert next_step(html) == "site" and "0 of 5 done" in html

    site = (await tenant.post("/api/v1/sites", {"name": "shop", "allowed_origins": [ORIGIN]}, 201)).json()
    html = await overview(tenant)
    assert steps(html)["site"] == "true" and next_step(html) == "install"

    await seen(tenant, site)
    html = await overview(tenant)
    assert steps(html)["install"] == steps(html)["check"] == "true"
    assert next_step(html) == "create"

    # the check is about now: once the page's origin is no longer allowed, the install stays done but the check not
    await tenant.client.put(
        f"/api/v1/sites/{site['id']}", json={"allowed_origins": ["https://www.shop.example"]}, headers=tenant.headers
    )
    html = await overview(tenant)
    assert steps(html)["install"] == "true" and steps(html)["check"] == "false" and next_step(html) == "check"
    await tenant.client.put(f"/api/v1/sites/{site['id']}", json={"allowed_origins": [ORIGIN]}, headers=tenant.headers)

    experiment = await tenant.experiment(key="hero", site_id=site["id"], status="draft")
    html = await overview(tenant)
    assert steps(html)["create"] == "true" and next_step(html) == "start"
    assert f'href="/experiments/{experiment["id"]}"><strong>Start it' in html

    # someone else's progress is not ours
    assert steps(await overview(other_tenant))["site"] == "false"

    response = await tenant.client.put(
        f"/api/v1/experiments/{experiment['id']}", json={"status": "running"}, headers=tenant.headers
    )
    assert response.status_code == 200, response.text
    html = await overview(tenant)
    assert steps(html) == {} and "Get your first experiment live" not in html


async def test_preview_links_per_arm_in_qa_mode(tenant: Tenant) -> None:
    site = (await tenant.post("/api/v1/sites", {"name": "shop", "allowed_origins": [ORIGIN]}, 201)).json()
    experiment = await tenant.experiment(key="hero", site_id=site["id"], status="draft", arms=3)
    page = await PageSession(tenant.client).login(tenant.email)

    html = (await page.get(f"/experiments/{experiment['id']}")).text
    for arm in range(3):
        assert f'href="{ORIGIN}/?levers_force=hero:{arm}&amp;levers_debug=1"' in html
    assert f'href="{ORIGIN}/?levers_debug=1"' in html

    chosen = (await page.get(f"/experiments/{experiment['id']}?preview_url={ORIGIN}/pricing?plan=pro%23top")).text
    assert f'href="{ORIGIN}/pricing?plan=pro&amp;levers_force=hero:1&amp;levers_debug=1"' in chosen

    hostile = (await page.get(f"/experiments/{experiment['id']}?preview_url=javascript:alert(1)")).text
    assert 'id="preview_url-error"' in hostile and "levers_force" not in hostile
    assert 'href="javascript:' not in hostile


async def test_the_site_page_offers_the_gtm_templates_for_download(tenant: Tenant) -> None:
    site = (await tenant.post("/api/v1/sites", {"name": "My Shop", "allowed_origins": [ORIGIN]}, 201)).json()
    page = await PageSession(tenant.client).login(tenant.email)
    html = (await page.get("/sites")).text
    for kind, inside in (("setup", site["public_key"]), ("conversion", "Levers conversion tag")):
        assert f'href="/t/{site["public_key"]}.{kind}.tpl" download="levers-{kind}-my-shop.tpl"' in html
        template = await tenant.client.get(f"/t/{site['public_key']}.{kind}.tpl")
        assert template.status_code == 200 and "___TERMS_OF_SERVICE___" in template.text and inside in template.text
