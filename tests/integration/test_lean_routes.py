"""the lean hot-path routes (app.lib.hot_http) answer as the litestar handlers they stand in front of.

each request below is sent twice to the same app: once with the lean routes on, once with them off (litestar
answers all, as before they existed), and the two answers are compared: status, body (request ids fixed by the
caller, selection tokens masked) and headers. the bad input tried: json that does not parse, a missing field, a
wrong type, a value that only passes by coercion ("1" for a number, a string arm), an unknown field, a NUL in a
string, nesting 40 levels deep, metadata over 16 KB, a body over the size limit, a form body, an unknown and
another tenant's experiment, a vector of the wrong length, an arm out of range, an overflowing reward, a forged
selection token, a missing and an unknown bearer credential, an unknown site key, an origin the site does not
allow, an empty tag body.
"""

from __future__ import annotations

import json
import re
from dataclasses import replace
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from app.asgi import create_app, create_served_app
from app.lib.heap import settle_heap
from app.lib.hot_http import HotPaths
from app.settings import Settings
from tests.integration.conftest import Tenant
from tests.integration.test_tag_api import ORIGIN, PLAIN, make_shop

_TOKEN = re.compile(r'("(?:selection_token|t)":)"[A-Za-z0-9_.-]{20,}"')
# the date is the clock's, the rate-limit headers exist only in front of the router
_VARIABLE = {"date", "ratelimit-policy", "ratelimit-limit", "ratelimit-remaining", "ratelimit-reset"}


def _answer(response: Any) -> tuple[int, str, dict[str, str]]:
    headers = {k: v for k, v in response.headers.items() if k not in _VARIABLE}
    if headers.get("content-type", "").startswith("application/json"):
        headers.pop("content-length", None)  # a masked token's length differs
    return response.status_code, _TOKEN.sub(r'\1"<token>"', response.text), headers


async def _both(app: Litestar, tenant: Tenant, method: str, path: str, **request: Any) -> tuple[Any, Any]:
    hot: HotPaths = app.hot  # type: ignore[attr-defined]
    answered, handed_back = hot.answered, hot.handed_back
    lean = await tenant.client.request(method, path, **request)
    lean_side = "lean" if hot.answered > answered else "litestar" if hot.handed_back > handed_back else "router"
    app.hot = None  # type: ignore[attr-defined]
    try:
        plain = await tenant.client.request(method, path, **request)
    finally:
        app.hot = hot  # type: ignore[attr-defined]
    assert _answer(lean) == _answer(plain), f"{method} {path} {request}"
    return lean, lean_side


@pytest.fixture
async def setup(tenant: Tenant, other_tenant: Tenant) -> dict[str, Any]:
    experiment = await tenant.experiment(arms=3)
    contextual = await tenant.experiment(protocol="lin_ucb", context_dim=3)
    foreign = await other_tenant.experiment()
    shop = await make_shop(tenant, goal={"type": "click", "value": "signup"})
    return {"experiment": experiment["id"], "contextual": contextual["id"], "foreign": foreign["id"], "shop": shop}


async def test_select_and_feedback_answer_as_litestar_does(
    app: Litestar, tenant: Tenant, setup: dict[str, Any]
) -> None:
    auth = {**tenant.headers, "x-request-id": "lean-vs-litestar"}
    experiment = setup["experiment"]
    good = {"experiment_id": experiment, "context": {"id": "v1"}, "force_arm": 2}
    answer, side = await _both(app, tenant, "POST", "/api/v1/select", json=good, headers=auth)
    assert answer.status_code == 200 and answer.json()["arm"]["index"] == 2 and side == "lean"
    selects: list[tuple[Any, int, str]] = [
        (b"{", 400, "litestar"),
        ({}, 400, "litestar"),
        ({"experiment_id": 5}, 400, "litestar"),
        ({"experiment_id": experiment, "force_arm": "1"}, 422, "litestar"),
        ({"experiment_id": experiment, "colour": "red"}, 400, "litestar"),
        ({"experiment_id": experiment, "context": {"id": "a\x00b"}}, 422, "litestar"),
        ({"experiment_id": experiment, "context": {"metadata": {"deep": json.loads("[" * 40 + "]" * 40)}}}, 422, ""),
        ({"experiment_id": experiment, "context": {"metadata": {f"k{i}": "x" * 400 for i in range(50)}}}, 422, "lean"),
        ({"experiment_id": experiment, "context": {"metadata": {"k": "x" * 70_000}}}, 413, "litestar"),
        ({"experiment_id": "00000000-0000-0000-0000-000000000000"}, 404, "lean"),
        ({"experiment_id": setup["foreign"]}, 404, "lean"),
        ({"experiment_id": setup["contextual"], "context": {"vector": [1.0, 2.0]}}, 422, "lean"),
        ({"experiment_id": experiment, "force_arm": 7}, 422, "lean"),
    ]
    for body, status, expected_side in selects:
        content = body if isinstance(body, bytes) else json.dumps(body).encode()
        answer, side = await _both(app, tenant, "POST", "/api/v1/select", content=content, headers=auth)
        assert answer.status_code == status, (body, answer.text)
        assert side == expected_side or not expected_side, (body, side)
        if status != 413:
            assert answer.headers["content-type"] == "application/problem+json", answer.text
            assert answer.json()["errors"][0]["field"], answer.text
    form = {**auth, "content-type": "application/x-www-form-urlencoded"}
    await _both(app, tenant, "POST", "/api/v1/select", content=b"experiment_id=x", headers=form)
    for given in ({}, {"Authorization": "Bearer lv_not-a-key"}, {"Authorization": "Basic abc"}):
        headers = {**given, "x-request-id": "lean-vs-litestar"}
        answer, side = await _both(app, tenant, "POST", "/api/v1/select", json=good, headers=headers)
        assert answer.status_code == 401 and side == "litestar"

    tokens = []
    for i in range(2):
        selected = await tenant.post("/api/v1/select", {"experiment_id": experiment, "context": {"id": f"f{i}"}}, 200)
        tokens.append(selected.json()["selection_token"])
    # the same token on both sides: the lean one records it, litestar's finds it a duplicate; so one each
    for token in tokens:
        lean = await tenant.client.post("/api/v1/feedback", json={"selection_token": token, "reward": 1}, headers=auth)
        assert lean.status_code == 202 and lean.json() == {
            "accepted": True,
            "duplicate": False,
            "request_id": "lean-vs-litestar",
        }
    feedbacks: list[tuple[Any, int]] = [
        ({"selection_token": tokens[0], "reward": 1}, 202),  # a duplicate now, on both sides
        ({"selection_token": tokens[0], "reward": "1"}, 422),
        ({"selection_token": tokens[0]}, 400),
        (b'{"selection_token": "x", "reward": 1e999}', 400),
        ({"selection_token": "forged.token", "reward": 1}, 422),
        ({"selection_token": tokens[0], "reward": 1, "goal": "nope"}, 422),
    ]
    for body, status in feedbacks:
        content = body if isinstance(body, bytes) else json.dumps(body).encode()
        answer, _ = await _both(app, tenant, "POST", "/api/v1/feedback", content=content, headers=auth)
        assert answer.status_code == status, (body, answer.text)
    # routes and methods the lean side does not serve stay litestar's
    answer, side = await _both(app, tenant, "GET", "/api/v1/select", headers=auth)
    assert answer.status_code == 405 and side == "litestar"
    answer, side = await _both(app, tenant, "GET", "/healthz", headers={"x-request-id": "lean-vs-litestar"})
    assert answer.json() == {"status": "ok"} and side == "lean"


async def test_tag_routes_answer_as_litestar_does(app: Litestar, tenant: Tenant, setup: dict[str, Any]) -> None:
    shop = setup["shop"]
    headers = {**PLAIN, "x-request-id": "lean-vs-litestar"}
    decide, events = f"/p/{shop.key}/d", f"/p/{shop.key}/e"
    forced = {"v": "v1", "x": ["hero"], "f": {"hero": "1"}}
    answer, side = await _both(app, tenant, "POST", decide, content=json.dumps(forced), headers=headers)
    assert answer.status_code == 200 and side == "lean"
    assert answer.headers["access-control-allow-origin"] == ORIGIN
    bad: list[tuple[str, bytes, dict[str, str], int]] = [
        (decide, b'{"v": "v1", "x": ["hero"]', headers, 422),
        (decide, b'{"v": "v1", "x": ["hero"], "z": 1}', headers, 422),
        (decide, b'{"v": "v1", "x": "hero"}', headers, 422),
        (decide, b'{"v": "a\\u0000b", "x": ["hero"]}', headers, 422),
        (decide, b'{"v": "v1", "x": ["hero"], "a": {"k": ' + b"[" * 40 + b"]" * 40 + b"}}", headers, 422),
        (decide, b'{"v": "v1", "x": ["hero"], "u": "' + b"x" * 17_000 + b'"}', headers, 413),
        (decide, b"", headers, 422),
        (decide, b'{"v": "v1", "x": ["hero"]}', {**headers, "origin": "https://evil.example"}, 403),
        ("/p/site_nonexistent/d", b'{"v": "v1", "x": ["hero"]}', headers, 404),
        (events, b'{"e": [{"k": "x", "t": "forged.token"}]}', headers, 422),
        (events, b'{"e": []}', headers, 422),
        ("/p/site_nonexistent/e", b'{"e": [{"k": "x", "t": "x.y"}]}', headers, 404),
    ]
    for path, content, request_headers, status in bad:
        answer, _ = await _both(app, tenant, "POST", path, content=content, headers=request_headers)
        assert answer.status_code == status, (content[:80], answer.text)
    token = await shop.token("v2")
    body = json.dumps({"e": [{"k": "x", "t": token}, {"k": "c", "t": token, "g": "signup"}]})
    hot: HotPaths = app.hot  # type: ignore[attr-defined]
    answered = hot.answered
    lean = await tenant.client.post(events, content=body, headers=headers)
    assert hot.answered == answered + 1
    assert lean.status_code == 202 and lean.json() == {"accepted": 2, "duplicates": 0, "skipped": []}
    # the same events again: duplicates on either side
    answer, side = await _both(app, tenant, "POST", events, content=body, headers=headers)
    assert answer.json() == {"accepted": 0, "duplicates": 2, "skipped": []} and side == "lean"


async def test_each_web_process_counts_the_public_limit_on_its_own(settings: Settings, tenant: Tenant) -> None:
    shop = await make_shop(tenant)
    body = b'{"v":"v1","x":["hero"]}'
    statuses = []
    # two apps stand for two web processes (WEB_CONCURRENCY=2): each lets the client's 3 a minute through
    for _ in range(2):
        async with AsyncTestClient(app=create_app(replace(settings, public_rate_limit_per_minute=3))) as client:
            for _ in range(4):
                response = await client.post(f"/p/{shop.key}/d", content=body, headers=PLAIN)
                statuses.append(response.status_code)
            assert response.headers["content-type"] == "application/problem+json"
            assert response.json() == {
                "type": "about:blank",
                "title": "Too many requests",
                "status": 429,
                "detail": "Too Many Requests",
            }
            assert int(response.headers["retry-after"]) >= 1 and response.headers["ratelimit-remaining"] == "0"
            assert response.headers["x-request-id"] and response.headers["x-content-type-options"] == "nosniff"
            # a preflight counts too, and is refused alike once the share is spent
            preflight = await client.options(f"/p/{shop.key}/d", headers={"origin": ORIGIN})
            assert preflight.status_code == 429
    assert statuses == [200, 200, 200, 429] * 2


def test_only_the_served_app_settles_its_heap(settings: Settings) -> None:
    assert settle_heap in create_served_app(settings).on_startup
    # tests build many apps in one process: theirs keep the interpreter's collector settings
    assert settle_heap not in create_app(settings).on_startup
