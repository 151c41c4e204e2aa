"""the visual editor's server side on the real stores: the single-use, expiring edit token handed out by the
experiment page, the editor session it buys, origin checks, and saving with every bad field named (4xx)."""

from __future__ import annotations

import hashlib
import html
import json
import re
from typing import Any

from redis.asyncio import Redis

from app.settings import Settings
from tests.integration.conftest import Tenant
from tests.integration.pages_support import PageSession
from tests.integration.test_tag_api import ORIGIN, make_shop

PLAIN = {"content-type": "text/plain;charset=UTF-8", "origin": ORIGIN}
TARGET = "#promo > h2"


async def edit_link(tenant: Tenant, experiment_id: str, page_url: str = f"{ORIGIN}/pricing?x=1") -> Any:
    session = await PageSession(tenant.client).login(tenant.email)
    return await session.post(f"/experiments/{experiment_id}/edit-on-site", {"page_url": page_url})


def token_of(response: Any) -> str:
    url = html.unescape(re.search(r'href="([^"]+)" id="open-page"', response.text).group(1))
    assert url.startswith(f"{ORIGIN}/pricing?x=1&levers_edit=")
    return url.rsplit("=", 1)[1]


async def call(tenant: Tenant, key: str, action: str, body: Any, headers: dict[str, str] | None = None) -> Any:
    content = body if isinstance(body, str) else json.dumps(body)
    return await tenant.client.post(
        f"/p/{key}/edit/{action}", content=content, headers=PLAIN if headers is None else headers
    )


def field(response: Any) -> str:
    return str(response.json()["errors"][0]["field"])


async def test_the_edit_token_is_single_use_expiring_and_origin_checked(
    tenant: Tenant, other_tenant: Tenant, redis: Redis, settings: Settings
) -> None:
    shop = await make_shop(tenant)
    response = await edit_link(tenant, shop.experiment["id"])
    assert response.status_code == 200 and 'http-equiv="refresh"' in response.text
    token = token_of(response)
    stored = f"{settings.redis_prefix}edit:token:{hashlib.sha256(token.encode()).hexdigest()}"
    assert 0 < await redis.ttl(stored) <= 600  # short-lived, and only its hash is kept

    # tried: a page on an origin the site does not allow, not a url, another tenant's experiment
    bad = await edit_link(tenant, shop.experiment["id"], "https://evil.example/")
    assert bad.status_code == 422 and "page_url" in bad.text
    assert (await edit_link(tenant, shop.experiment["id"], "javascript:alert(1)")).status_code == 422
    assert (await edit_link(other_tenant, shop.experiment["id"])).status_code == 404

    # tried: no origin, a foreign origin, a malformed body, a made-up token
    assert (await call(tenant, shop.key, "open", {"token": token}, {"content-type": "text/plain"})).status_code == 403
    foreign = await call(tenant, shop.key, "open", {"token": token}, {**PLAIN, "origin": "https://evil.example"})
    assert foreign.status_code == 403 and field(foreign) == "origin"
    malformed = await call(tenant, shop.key, "open", "{not json")
    assert malformed.status_code in (400, 422) and field(malformed) == "body"
    assert malformed.headers["access-control-allow-origin"] == ORIGIN  # the editor can read why
    made_up = await call(tenant, shop.key, "open", {"token": "x" * 32})
    assert made_up.status_code == 403 and field(made_up) == "token"

    opened = await call(tenant, shop.key, "open", {"token": token})
    assert opened.status_code == 200, opened.text
    assert opened.headers["access-control-allow-origin"] == ORIGIN
    answer = opened.json()
    assert answer["experiment"]["key"] == "hero" and [a["name"] for a in answer["experiment"]["arms"]] == [
        "arm-0",
        "arm-1",
    ]
    again = await call(tenant, shop.key, "open", {"token": token})
    assert again.status_code == 403 and field(again) == "token"  # single use
    session = f"{settings.redis_prefix}edit:session:{hashlib.sha256(answer['session'].encode()).hexdigest()}"
    assert 0 < await redis.ttl(session) <= 1800


async def opened_session(tenant: Tenant) -> tuple[Any, str]:
    shop = await make_shop(tenant)
    token = token_of(await edit_link(tenant, shop.experiment["id"]))
    return shop, (await call(tenant, shop.key, "open", {"token": token})).json()["session"]


async def test_save_names_every_bad_field_and_writes_nothing(tenant: Tenant, other_tenant: Tenant) -> None:
    shop, session = await opened_session(tenant)
    good = {"session": session, "target": TARGET, "arms": [{"payload": {}}, {"payload": {"text": "New"}}]}
    cases: list[tuple[dict[str, Any], int, str]] = [
        ({**good, "target": "a{} body"}, 422, "target"),
        ({**good, "target": ":is(a"}, 422, "target"),
        ({**good, "arms": [{"payload": {}}, {"payload": {}}, {"payload": {}}]}, 422, "arms"),
        (
            {**good, "arms": [{"payload": {}}, {"payload": {"attributes": {"onclick": "x()"}}}]},
            422,
            "arms[1].payload.attributes.onclick",
        ),
        (
            {**good, "arms": [{"payload": {}}, {"payload": {"redirect": "javascript:x()"}}]},
            422,
            "arms[1].payload.redirect",
        ),
        ({**good, "arms": [{"payload": {}}, {"payload": {"hide": "yes"}}]}, 422, "arms[1].payload.hide"),
        ({**good, "arms": [{"payload": {}}, {"payload": {"script": "x"}}]}, 422, "arms[1].payload"),
        (
            {**good, "arms": [{"payload": {}}, {"payload": {"style": {"background": "url(x)"}}}]},
            422,
            "arms[1].payload.style.background",
        ),
        ({**good, "goal": {"type": "teleport"}}, 422, "goal.type"),
        ({**good, "goal": {"type": "click", "nope": 1}}, 422, "goal.nope"),
        ({**good, "extra": 1}, 422, "extra"),
        ({**good, "session": "y" * 32}, 403, "session"),
        ({key: value for key, value in good.items() if key != "target"}, 422, "target"),
    ]
    for body, status, name in cases:
        response = await call(tenant, shop.key, "save", body)
        assert (response.status_code, field(response)) == (status, name), (body, response.text)
        assert response.headers["access-control-allow-origin"] == ORIGIN
    pool = (await tenant.get(f"/api/v1/pools/{shop.experiment['pool_id']}", 200)).json()
    assert [a["payload"] for a in pool["arms"]] == [{}, {}]

    # another site's key can't use this session, even from an origin it allows
    other = await make_shop(other_tenant)
    response = await call(tenant, other.key, "save", good)
    assert response.status_code == 403 and field(response) == "session"

    saved = await call(tenant, shop.key, "save", {**good, "goal": {"type": "url", "url": "/thanks"}})
    assert saved.status_code == 200, saved.text
    pool = (await tenant.get(f"/api/v1/pools/{shop.experiment['pool_id']}", 200)).json()
    assert [a["payload"] for a in pool["arms"]] == [{"target": TARGET}, {"target": TARGET, "text": "New"}]
    experiment = (await tenant.get(f"/api/v1/experiments/{shop.experiment['id']}", 200)).json()
    assert experiment["goal"]["type"] == "url"
    # the tag and the anti-flicker stylesheet now carry the target
    assert f'"s":{{"hero":"{TARGET}"}}' in (await tenant.client.get(f"/t/{shop.key}.js")).text
    assert f":where({TARGET})" in (await tenant.client.get(f"/t/{shop.key}.css")).text


async def test_the_editor_script_is_separate_from_the_visitor_tag(tenant: Tenant) -> None:
    shop = await make_shop(tenant)
    editor = await tenant.client.get("/t/editor.js")
    assert editor.status_code == 200 and editor.headers["content-type"].startswith("application/javascript")
    tag = (await tenant.client.get(f"/t/{shop.key}.js")).text
    assert "lv-selector" in editor.text and "lv-selector" not in tag and "edit/save" not in tag
