"""the tag's public api on the real stores: decide, events, cors, limits, and refusals without side effects."""

from __future__ import annotations

import base64
import json
import time
from dataclasses import replace
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from redis.asyncio import Redis

from app.asgi import create_app
from app.lib.tokens import SelectionTokens
from app.runtime.keys import RedisKeys
from app.settings import Settings
from tests.e2e.tag_support import claims
from tests.integration.conftest import Tenant

ORIGIN = "https://shop.example"
PLAIN = {"content-type": "text/plain;charset=UTF-8", "origin": ORIGIN}


class Shop:
    """a tenant's site with one running experiment "hero" (conversion mode) on it."""

    def __init__(self, tenant: Tenant, site: dict[str, Any], experiment: dict[str, Any]) -> None:
        self.tenant = tenant
        self.site = site
        self.experiment = experiment
        self.key = site["public_key"]

    async def decide(self, body: dict[str, Any], expect: int = 200, headers: dict[str, str] | None = None) -> Any:
        response = await self.tenant.client.post(f"/p/{self.key}/d", content=json.dumps(body), headers=headers or PLAIN)
        assert response.status_code == expect, response.text
        return response

    async def token(self, visitor: str = "v1") -> str:
        return str((await self.decide({"v": visitor, "x": ["hero"]})).json()["d"][0]["t"])

    async def events(self, events: list[dict[str, Any]], expect: int = 202) -> Any:
        response = await self.tenant.client.post(f"/p/{self.key}/e", content=json.dumps({"e": events}), headers=PLAIN)
        assert response.status_code == expect, response.text
        return response.json()


async def make_shop(tenant: Tenant, **fields: Any) -> Shop:
    site = (await tenant.post("/api/v1/sites", {"name": "shop", "allowed_origins": [ORIGIN]}, 201)).json()
    body = {"key": "hero", "site_id": site["id"], "reward_mode": "conversion", **fields}
    return Shop(tenant, site, await tenant.experiment(**body))


@pytest.fixture
async def shop(tenant: Tenant) -> Shop:
    return await make_shop(tenant, goal={"type": "click", "value": "signup"}, attribution_window_seconds=600)


async def recorded(redis: Redis, settings: Settings, kind: str, token: str) -> bool:
    keys = RedisKeys(settings.redis_prefix, settings.stream_shards)
    return bool(await redis.exists(keys.dedup(claims(token)["e"], f"{kind}:{claims(token)['n']}")))


async def test_decide_answers_every_experiment_of_the_page_at_once(
    shop: Shop, redis: Redis, settings: Settings
) -> None:
    response = await shop.decide({"v": "v1", "x": ["hero", "not-an-experiment", "hero"], "u": "https://shop.example/"})
    assert response.headers["access-control-allow-origin"] == ORIGIN
    [decision] = response.json()["d"]
    assert decision["x"] == "hero" and decision["r"] == "policy" and decision["n"] in {"arm-0", "arm-1"}
    assert decision["g"] == {"type": "click", "value": "signup"}
    # the token lives as long as the experiment's attribution window
    token = claims(decision["t"])
    assert token["x"] - token["ts"] == 600 and 598 <= decision["e"] <= 600
    assert not await recorded(redis, settings, "x", decision["t"])  # exposure waits for the tag to apply it


async def test_sticky_token_keeps_arm_and_trial(shop: Shop) -> None:
    first = (await shop.decide({"v": "v1", "x": ["hero"]})).json()["d"][0]
    for _ in range(8):
        again = (await shop.decide({"v": "v1", "x": ["hero"], "s": {"hero": first["t"]}})).json()["d"][0]
        assert (again["a"], again["t"]) == (first["a"], first["t"])
    forged = first["t"][:-2] + ("AA" if not first["t"].endswith("AA") else "BB")
    fresh = (await shop.decide({"v": "v1", "x": ["hero"], "s": {"hero": forged}})).json()["d"][0]
    assert fresh["t"] not in {first["t"], forged}


async def test_forced_arm_has_no_token(shop: Shop) -> None:
    for reference in ("arm-1", "1"):
        [decision] = (await shop.decide({"v": "v1", "x": ["hero"], "f": {"hero": reference}})).json()["d"]
        assert (decision["a"], decision["r"], decision["t"]) == (1, "forced", "")


async def test_paused_experiment_serves_control_without_token(shop: Shop) -> None:
    await shop.tenant.client.put(
        f"/api/v1/experiments/{shop.experiment['id']}", json={"status": "paused"}, headers=shop.tenant.headers
    )
    [decision] = (await shop.decide({"v": "v1", "x": ["hero"]})).json()["d"]
    assert (decision["a"], decision["r"], decision["t"]) == (0, "paused", "")


async def test_cors_only_for_the_sites_origins(shop: Shop) -> None:
    body = {"v": "v1", "x": ["hero"]}
    refused = await shop.decide(body, 403, {"content-type": "text/plain", "origin": "https://evil.example"})
    assert refused.json()["errors"][0]["field"] == "origin"
    assert "access-control-allow-origin" not in refused.headers
    no_origin = await shop.decide(body, 200, {"content-type": "text/plain"})  # server to server: no cors at all
    assert "access-control-allow-origin" not in no_origin.headers
    # the tag sends text/plain, a cors "simple request": no preflight is ever needed, so none is granted
    preflight = await shop.tenant.client.options(
        f"/p/{shop.key}/d", headers={"origin": ORIGIN, "access-control-request-method": "POST"}
    )
    assert "access-control-allow-origin" not in preflight.headers
    unknown = await shop.tenant.client.post("/p/site_nope/d", content=json.dumps(body), headers=PLAIN)
    assert unknown.status_code == 404 and unknown.json()["errors"][0]["field"] == "site_key"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (b"not json", "body"),
        (b'{"v": "v1", "x": ["hero"], "extra": 1}', "extra"),
        (b'{"x": ["hero"]}', "v"),
        (b'{"v": "", "x": ["hero"]}', "v"),
        (json.dumps({"v": "v1", "x": [f"k{i}" for i in range(51)]}).encode(), "x"),
        (json.dumps({"v": "v1", "x": ["hero"], "a": {"plan": {"nested": 1}}}).encode(), "a"),
        (json.dumps({"v": "v1", "x": ["hero"], "u": "https://x/" + "a" * 2100}).encode(), "u"),
    ],
    ids=["not-json", "unknown-field", "no-visitor", "empty-visitor", "51-keys", "nested-attribute", "long-url"],
)
async def test_bad_decide_bodies_are_4xx_naming_the_field(shop: Shop, body: bytes, field: str) -> None:
    response = await shop.tenant.client.post(f"/p/{shop.key}/d", content=body, headers=PLAIN)
    assert 400 <= response.status_code < 500, response.text
    assert response.json()["errors"][0]["field"] == field


async def test_body_size_is_capped(shop: Shop) -> None:
    body = json.dumps({"v": "v1", "x": ["hero"], "r": "x" * 17_000}).encode()
    for action in ("d", "e"):
        response = await shop.tenant.client.post(f"/p/{shop.key}/{action}", content=body, headers=PLAIN)
        assert response.status_code == 413, response.text


async def test_exposure_and_conversion_count_once_and_an_eid_once(shop: Shop, redis: Redis, settings: Settings) -> None:
    first, second = await shop.token("v1"), await shop.token("v2")
    assert (await shop.events([{"k": "x", "t": first}, {"k": "x", "t": second}]))["accepted"] == 2
    assert (await shop.events([{"k": "x", "t": first}]))["duplicates"] == 1
    conversion = {"k": "c", "g": "signup", "r": 1, "d": "order-9"}
    assert (await shop.events([{**conversion, "t": first}]))["accepted"] == 1
    assert (await shop.events([{**conversion, "t": first, "d": "order-10"}]))["duplicates"] == 1  # token once
    assert (await shop.events([{**conversion, "t": second}]))["duplicates"] == 1  # the same order id
    assert not await recorded(redis, settings, "f", second)
    assert (await shop.events([{**conversion, "t": second, "d": "order-10"}]))["accepted"] == 1


async def test_conversion_without_a_recorded_exposure_is_skipped_and_never_trained(
    shop: Shop, redis: Redis, settings: Settings
) -> None:
    # a trial can't succeed before it was counted: such conversions once dropped their whole batch's learning
    token = await shop.token()
    answer = await shop.events([{"k": "c", "t": token, "g": "signup", "r": 1}])
    assert answer["accepted"] == 0 and answer["skipped"][0]["field"] == "e[0].t", answer
    assert "exposure" in answer["skipped"][0]["message"]
    assert not await recorded(redis, settings, "f", token)
    # reported together, the exposure goes first and the conversion counts
    answer = await shop.events([{"k": "c", "t": token, "g": "signup", "r": 1}, {"k": "x", "t": token}])
    assert answer["accepted"] == 2 and answer["skipped"] == [], answer
    assert await recorded(redis, settings, "f", token)


async def test_conversion_for_another_goal_is_skipped(shop: Shop, redis: Redis, settings: Settings) -> None:
    token = await shop.token()
    answer = await shop.events([{"k": "c", "t": token, "g": "newsletter"}])
    assert answer["accepted"] == 0 and answer["skipped"][0]["field"] == "e[0].g"
    assert not await recorded(redis, settings, "f", token)


def expired_token(app: Litestar, good: str) -> str:
    tokens: SelectionTokens = app.state.decisions.tokens
    token, _ = tokens.issue(
        tenant=claims(good)["t"],
        experiment=claims(good)["e"],
        arm=0,
        visitor="v1",
        propensity=0.5,
        ttl_seconds=600,
        now=time.time() - 601,  # issued just over the attribution window ago
    )
    return token


@pytest.mark.parametrize("bad", ["forged", "malformed", "expired", "other-organization"])
async def test_bad_tokens_refuse_the_batch_without_side_effects(
    shop: Shop, app: Litestar, other_tenant: Tenant, redis: Redis, settings: Settings, bad: str
) -> None:
    good = await shop.token("v1")
    if bad == "forged":  # the other arm, under the original signature
        signature = good.split(".")[1]
        payload = claims(good) | {"a": 1 - claims(good)["a"]}
        forged_body = base64.urlsafe_b64encode(json.dumps(payload).encode()).rstrip(b"=").decode()
        token = f"{forged_body}.{signature}"
    elif bad == "malformed":
        token = "not-a-token"
    elif bad == "expired":
        token = expired_token(app, good)
    else:
        other = await make_shop(other_tenant)
        token = await other.token("v1")
    streams_before = await _stream_lengths(redis, settings)
    answer = await shop.events([{"k": "x", "t": good}, {"k": "c", "t": token, "g": "signup"}], expect=422)
    assert answer["errors"][0]["field"] == "e[1].t", answer
    assert not await recorded(redis, settings, "x", good)
    assert await _stream_lengths(redis, settings) == streams_before


async def _stream_lengths(redis: Redis, settings: Settings) -> list[int]:
    keys = RedisKeys(settings.redis_prefix, settings.stream_shards)
    return [await redis.xlen(keys.stream(shard)) for shard in range(settings.stream_shards)]


async def test_rate_limited_per_site_and_address(settings: Settings, tenant: Tenant) -> None:
    shop = await make_shop(tenant)
    limited = create_app(replace(settings, public_rate_limit_per_minute=3))
    async with AsyncTestClient(app=limited) as client:
        statuses = []
        for _ in range(5):
            response = await client.post(f"/p/{shop.key}/d", content=b'{"v":"v1","x":["hero"]}', headers=PLAIN)
            statuses.append(response.status_code)
        assert statuses == [200, 200, 200, 429, 429]
        script = await client.get(f"/t/{shop.key}.js")  # the script itself is cached by browsers and cdns
        assert script.status_code == 200


async def test_tag_script_and_templates(shop: Shop) -> None:
    client = shop.tenant.client
    script = await client.get(f"/t/{shop.key}.js")
    assert script.status_code == 200 and script.headers["content-type"].startswith("application/javascript")
    assert "max-age=60" in script.headers["cache-control"]
    assert f'"key":"{shop.key}"' in script.text and '"x":["hero"]' in script.text
    assert "__LEVERS_CONFIG__" not in script.text
    for name in ("setup", "conversion"):
        template = await client.get(f"/t/{shop.key}.{name}.tpl")
        assert template.status_code == 200 and "___SANDBOXED_JS_FOR_WEB_TEMPLATE___" in template.text
    setup = (await client.get(f"/t/{shop.key}.setup.tpl")).text
    assert f"/t/{shop.key}.js" in setup and "levers.example.com" not in setup
    assert (await client.get(f"/t/{shop.key}.txt")).status_code == 404
    assert (await client.get("/t/site_nope.js")).status_code == 404


async def test_visitor_attributes_reach_the_gate(shop: Shop, redis: Redis, settings: Settings) -> None:
    rules = [
        {"id": "phones", "condition": {"attribute": "device", "operator": "eq", "value": "mobile"}, "arm": 1},
        {"id": "spring", "condition": {"attribute": "utm_campaign", "operator": "eq", "value": "spring"}, "arm": 1},
        {"id": "swiss", "condition": {"attribute": "country", "operator": "eq", "value": "CH"}, "arm": 1},
        {"id": "pro", "condition": {"attribute": "plan", "operator": "eq", "value": "pro"}, "arm": 1},
    ]
    await shop.tenant.post("/api/v1/gates", {"experiment_id": shop.experiment["id"], "rules": rules}, 201)
    iphone = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Mobile/15E148"
    cases = [
        ({"user-agent": iphone}, {}, "rule:phones"),
        ({}, {"u": "https://shop.example/?utm_campaign=spring"}, "rule:spring"),
        ({"cf-ipcountry": "CH"}, {"a": {"country": "FR"}}, "rule:swiss"),
        ({}, {"a": {"plan": "pro"}}, "rule:pro"),
        ({}, {"a": {"plan": "free", "country": "CH"}}, "policy"),  # the page cannot claim a country
    ]
    for headers, extra, reason in cases:
        body = {"v": "v1", "x": ["hero"], **extra}
        [decision] = (await shop.decide(body, headers={**PLAIN, **headers})).json()["d"]
        assert decision["r"] == reason, (headers, extra, decision)
        if reason != "policy":
            # gate-served traffic still has a token: the tag reports it, and it is counted apart as holdout
            assert decision["a"] == 1 and decision["t"] and claims(decision["t"])["g"] == reason
            assert (await shop.events([{"k": "x", "t": decision["t"]}]))["accepted"] == 1
            assert await recorded(redis, settings, "hx", decision["t"])
