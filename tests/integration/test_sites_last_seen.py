"""a site's last_seen_url / last_seen_at in the api come from where the tag endpoint notes them."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime

from tests.integration.conftest import Tenant
from tests.integration.pages_support import PageSession
from tests.integration.test_tag_api import make_shop


async def test_sites_show_where_and_when_their_tag_last_ran(tenant: Tenant, other_tenant: Tenant) -> None:
    shop = await make_shop(tenant)
    quiet = (await tenant.post("/api/v1/sites", {"name": "quiet", "allowed_origins": []}, 201)).json()
    assert shop.site["last_seen_url"] is None and shop.site["last_seen_at"] is None

    before = time.time()
    await shop.decide({"v": "v1", "x": ["hero"], "u": "https://shop.example/pricing"})
    # the note is a fire-and-forget write riding the next flush: wait for it to land
    for _ in range(100):
        site = (await tenant.get(f"/api/v1/sites/{shop.site['id']}", 200)).json()
        if site["last_seen_url"] is not None:
            break
        await asyncio.sleep(0.05)
    assert site["last_seen_url"] == "https://shop.example/pricing"
    assert datetime.fromisoformat(site["last_seen_at"]).timestamp() >= before - 1

    listed = {s["id"]: s for s in (await tenant.get("/api/v1/sites", 200)).json()}
    assert listed[shop.site["id"]]["last_seen_url"] == "https://shop.example/pricing"
    assert listed[shop.site["id"]]["last_seen_at"] == site["last_seen_at"]
    # a site whose tag never ran stays unseen, and another organization sees none of it
    assert listed[quiet["id"]]["last_seen_url"] is None and listed[quiet["id"]]["last_seen_at"] is None
    assert (await other_tenant.get(f"/api/v1/sites/{shop.site['id']}")).status_code == 404

    # the sites page reads the same sighting
    page = await (await PageSession(tenant.client).login(tenant.email)).get("/sites")
    assert page.status_code == 200
    assert "Tag last seen on <code>https://shop.example/pricing</code>" in page.text
    assert "Tag not seen yet" in page.text  # the quiet site
