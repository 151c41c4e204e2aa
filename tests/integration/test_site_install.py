"""the site page's install (every route with the anti-flicker line), the anti-flicker stylesheet with visual-editor
targets, and refused origins: recorded rate-limited and bounded, shown in red, allowed in one click."""

from __future__ import annotations

import json
from typing import Any

from redis.asyncio import Redis

from app.runtime.editing import MAX_REFUSED_ORIGINS
from app.settings import Settings
from tests.integration.conftest import Tenant
from tests.integration.pages_support import PageSession
from tests.integration.test_tag_api import ORIGIN, make_shop

TARGET = "#pricing > .cta"


async def refused_from(shop: Any, origin: str, page: str = "") -> None:
    headers = {"content-type": "text/plain;charset=UTF-8", "origin": origin, "referer": page}
    await shop.decide({"v": "v1", "x": ["hero"], "u": page}, expect=403, headers=headers)


async def test_every_route_shows_the_anti_flicker_line(tenant: Tenant) -> None:
    shop = await make_shop(tenant)
    page = await (await PageSession(tenant.client).login(tenant.email)).get("/sites")
    assert page.status_code == 200
    line = f"&lt;link rel=&#34;stylesheet&#34; href=&#34;http://testserver.local/t/{shop.key}.css&#34;&gt;"
    assert page.text.count(line) == 2  # the line of its own, and inside the plain <head> code
    assert "Custom HTML" in page.text and "community template" in page.text and "No tag manager" in page.text
    assert f"/t/{shop.key}.setup.tpl" in page.text and f"/t/{shop.key}.conversion.tpl" in page.text
    assert f"async src=&#34;http://testserver.local/t/{shop.key}.js&#34;" in page.text


async def test_the_stylesheet_hides_marked_elements_and_targets_of_live_experiments(tenant: Tenant) -> None:
    site = (await tenant.post("/api/v1/sites", {"name": "shop", "allowed_origins": [ORIGIN]}, 201)).json()
    pool = {
        "name": "p",
        "arms": [
            {"name": "A", "payload": {"target": TARGET}},
            {"name": "B", "payload": {"target": TARGET, "text": "Buy"}},
        ],
    }
    pool_id = (await tenant.post("/api/v1/pools", pool, 201)).json()["id"]
    await tenant.experiment(key="cta", site_id=site["id"], pool_id=pool_id, reward_mode="conversion")
    css = await tenant.client.get(f"/t/{site['public_key']}.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    lines = css.text.splitlines()
    assert lines[0].startswith("[data-levers]{visibility:hidden;animation:levers-failsafe 0s 2s forwards}")
    assert "[data-levers-shown]{visibility:visible;animation:none}" in lines[0]
    assert f":where({TARGET}){{visibility:hidden;animation:levers-failsafe 0s 2s forwards}}" in lines
    tag = await tenant.client.get(f"/t/{site['public_key']}.js")
    assert f'"s":{{"cta":"{TARGET}"}}' in tag.text


async def test_a_target_that_could_break_the_stylesheet_is_refused_naming_it(tenant: Tenant) -> None:
    # tried: a block, an at-rule, a comment, unbalanced brackets and quotes, an empty one, a number
    for bad in ["a{}", "a;b", "@media x", "a /* x", 'a[title="x]', ":is(a", "a)", " ", 7, "x" * 301]:
        body = {"name": "p", "arms": [{"name": "A", "payload": {"target": bad}}, {"name": "B"}]}
        response = await tenant.post("/api/v1/pools", body, 422)
        assert response.json()["errors"][0]["field"] == "arms[0].payload.target", bad
    body = {"name": "p", "arms": [{"name": "A", "payload": {"hide": "yes"}}, {"name": "B"}]}
    assert (await tenant.post("/api/v1/pools", body, 422)).json()["errors"][0]["field"] == "arms[0].payload.hide"
    target = 'a[href="/x"] > span:nth-child(2)'
    fine = {"name": "p", "arms": [{"name": "A", "payload": {"target": target, "hide": True}}, {"name": "B"}]}
    await tenant.post("/api/v1/pools", fine, 201)


async def test_refused_origins_are_recorded_shown_in_red_and_allowed_in_one_click(
    tenant: Tenant, other_tenant: Tenant, redis: Redis, settings: Settings
) -> None:
    shop = await make_shop(tenant)
    wrong = "https://www.shop.example"
    await refused_from(shop, wrong, "https://www.shop.example/pricing")
    await refused_from(shop, wrong + "/", "https://www.shop.example/again")  # rate-limited: not written again
    raw = await redis.hgetall(f"{settings.redis_prefix}refused:{shop.key}")
    assert list(raw) == [wrong.encode()]
    note = json.loads(raw[wrong.encode()])
    assert note["page"] == "https://www.shop.example/pricing" and note["count"] == 1

    # bounded: a flood of forged origins can't grow the record past its cap
    for n in range(MAX_REFUSED_ORIGINS + 5):
        await refused_from(shop, f"https://forged-{n}.example")
    assert await redis.hlen(f"{settings.redis_prefix}refused:{shop.key}") == MAX_REFUSED_ORIGINS

    session = await PageSession(tenant.client).login(tenant.email)
    page = await session.get("/sites")
    assert 'class="alert alert-bad refused"' in page.text
    assert f'<code class="refused-origin">{wrong}</code>' in page.text
    assert f"Allow {wrong}" in page.text

    # another organization can't allow an origin on this site
    other = await PageSession(tenant.client).login(other_tenant.email)
    response = await other.post(f"/sites/{shop.site['id']}/origins/allow", {"origin": wrong})
    assert response.status_code == 404
    session = await PageSession(tenant.client).login(tenant.email)
    response = await session.post(f"/sites/{shop.site['id']}/origins/allow", {"origin": "javascript:alert(1)"})
    assert response.status_code == 422 and "origin" in response.text
    response = await session.post(f"/sites/{shop.site['id']}/origins/allow", {"origin": wrong})
    assert response.status_code in (302, 303)
    site = (await tenant.get(f"/api/v1/sites/{shop.site['id']}", 200)).json()
    assert site["allowed_origins"] == sorted([ORIGIN, wrong])
    assert not await redis.hexists(f"{settings.redis_prefix}refused:{shop.key}", wrong)
    # the same page's requests now pass
    headers = {"content-type": "text/plain;charset=UTF-8", "origin": wrong}
    for _ in range(50):
        response = await shop.tenant.client.post(
            f"/p/{shop.key}/d", content=json.dumps({"v": "v1", "x": ["hero"]}), headers=headers
        )
        if response.status_code == 200:
            break
    assert response.status_code == 200
