"""viewers record nothing, user text can't break the results page, security headers, honest metrics."""

from __future__ import annotations

import html as html_lib
import json
import logging
import re
import secrets
from dataclasses import replace

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from prometheus_client.parser import text_string_to_metric_families

from app.asgi import create_app
from app.lib import observability
from app.lib.html import json_for_script
from app.settings import Settings
from tests.conftest import scoped
from tests.integration.conftest import Tenant
from tests.integration.pages_support import PASSWORD, PageSession, seed_rows
from tests.integration.test_team_roles import join_by_link


async def test_viewers_cannot_select_or_send_feedback(tenant: Tenant) -> None:
    experiment = await tenant.experiment()
    invite = await tenant.post("/api/v1/team/invitations", {"role": "viewer"}, 201)
    _, viewer = await join_by_link(tenant.client, invite.json()["url"])
    select = await tenant.client.post(
        "/api/v1/select", json={"experiment_id": experiment["id"], "context": {"id": "v"}}, headers=viewer
    )
    assert select.status_code == 403, select.text
    feedback = await tenant.client.post("/api/v1/feedback", json={"selection_token": "x", "reward": 1}, headers=viewer)
    assert feedback.status_code == 403, feedback.text


def test_json_for_script_never_lets_the_html_parser_see_markup() -> None:
    text = json_for_script({"name": "<!--<script></script>&\u2028"})
    assert not set(text) & {"<", ">", "&", "\u2028"}
    assert json.loads(text) == {"name": "<!--<script></script>&\u2028"}


async def test_an_arm_named_like_markup_does_not_truncate_the_results_page(settings: Settings, tenant: Tenant) -> None:
    evil = "<!--<script>"
    pool = await tenant.post("/api/v1/pools", {"name": "p", "arms": [{"name": "Control"}, {"name": evil}]}, 201)
    body = {"name": "cta", "pool_id": pool.json()["id"], "reward_mode": "conversion", "status": "draft"}
    experiment = (await tenant.post("/api/v1/experiments", body, 201)).json()
    await seed_rows(settings.database_url, experiment["id"], [(500, 20), (500, 30)], hours=4)
    page = await PageSession(tenant.client).login(tenant.email)
    response = await page.get(f"/experiments/{experiment['id']}")
    assert response.status_code == 200
    text = response.text
    assert evil not in text  # escaped everywhere it appears
    embedded = re.search(r'<script type="application/json" id="charts-[^"]+">(.*?)</script>', text, re.S)
    assert embedded is not None
    assert "<" not in embedded.group(1)
    charts = json.loads(embedded.group(1))
    assert evil in json.dumps(charts, ensure_ascii=False)  # the name arrives intact for the chart labels
    # the page went on past the data: its scripts and closing tags are there
    tail = text[embedded.end() :]
    assert "/static/js/levers-charts." in tail and text.rstrip().endswith("</html>")
    assert html_lib.escape(evil) in text


async def test_security_headers_on_pages_api_and_errors(client: AsyncTestClient[Litestar], tenant: Tenant) -> None:
    page = await PageSession(client).login(tenant.email, PASSWORD)
    answers = {
        "page": await page.get("/experiments"),
        "login page": await client.get("/login"),
        "api": await tenant.get("/api/v1/pools"),
        "unauthorized api": await client.get("/api/v1/pools"),
        "missing": await client.get("/no-such-page"),
        "static": await client.get("/static/css/levers.css"),
    }
    for name, response in answers.items():
        headers = response.headers
        assert headers["x-content-type-options"] == "nosniff", name
        assert headers["referrer-policy"] == "strict-origin-when-cross-origin", name
        assert "frame-ancestors 'none'" in headers["content-security-policy"], name
        assert "strict-transport-security" not in headers, name  # only in production
    csp = answers["page"].headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp.split("style-src-attr")[0]
    assert "unsafe-eval" not in csp
    assert answers["api"].headers["content-security-policy"].startswith("default-src 'none'")


async def test_production_adds_hsts_and_guards_metrics(settings: Settings) -> None:
    production = replace(scoped(settings, f"prod{secrets.token_hex(2)}"), env="production")
    async with AsyncTestClient(app=create_app(production)) as client:
        health = await client.get("/healthz")
        assert health.headers["strict-transport-security"].startswith("max-age=")
        refused = await client.get("/metrics")
        assert refused.status_code == 403
        assert "METRICS_TOKEN" in refused.json()["detail"]
    allowed = replace(production, metrics_public=True)
    async with AsyncTestClient(app=create_app(allowed)) as client:
        assert (await client.get("/metrics")).status_code == 200


def _count(text: str, route: str, status: str) -> float:
    for family in text_string_to_metric_families(text):
        if family.name == "levers_http_request_duration_seconds":
            return sum(
                s.value
                for s in family.samples
                if s.name.endswith("_count") and s.labels.get("route") == route and s.labels.get("status") == status
            )
    return 0.0


class _AccessLog:
    def __init__(self) -> None:
        self.lines: list[tuple[int, dict[str, object]]] = []

    def log(self, level: int, event: str, **fields: object) -> None:
        self.lines.append((level, fields))


async def test_refusals_are_counted_and_logged_with_their_real_status(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    access = _AccessLog()
    monkeypatch.setattr(observability, "access_log", access)
    limited = replace(scoped(settings, f"refuse{secrets.token_hex(2)}"), auth_rate_limit_per_minute=1)
    async with AsyncTestClient(app=create_app(limited)) as client:
        before = (await client.get("/metrics")).text
        assert (await client.get("/api/v1/pools")).status_code == 401
        body = {"email": "nobody@example.com", "password": "a wrong password"}
        codes = [(await client.post("/auth/login", json=body)).status_code for _ in range(3)]
        assert 429 in codes
        after = (await client.get("/metrics")).text
    assert _count(after, "/api/v1/pools", "401") - _count(before, "/api/v1/pools", "401") == 1
    assert _count(after, "/auth/login", "429") - _count(before, "/auth/login", "429") >= 1
    assert _count(after, "/api/v1/pools", "500") == _count(before, "/api/v1/pools", "500")
    assert _count(after, "/auth/login", "500") == _count(before, "/auth/login", "500")
    refusals = [(level, f) for level, f in access.lines if f.get("status") in (401, 429)]
    assert {f["status"] for _, f in refusals} == {401, 429}
    assert all(level < logging.ERROR for level, _ in refusals)
