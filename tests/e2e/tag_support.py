"""helpers for the browser-tag tests: an organization set up through the api, the gtm simulator served in place
of googletagmanager.com, a frame-by-frame recorder, and server-side checks of what was recorded."""

from __future__ import annotations

import asyncio
import base64
import json
import secrets
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import httpx
from redis import Redis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from app.domain.tag.templates import parse_template
from app.runtime.keys import RedisKeys
from tests.conftest import run_isolated
from tests.e2e.conftest import FIXTURES, FixtureSite, Levers

GTM_URL = "https://www.googletagmanager.com/gtm.js*"

# records, on every animation frame from the first one, the text and visibility of every marked element
FRAME_RECORDER = """
window.__frames = [];
(function tick() {
  document.querySelectorAll('[data-levers]').forEach(function (el) {
    var style = getComputedStyle(el);
    window.__frames.push({ key: el.getAttribute('data-levers'), text: el.textContent.trim(),
      visible: style.visibility === 'visible' && style.display !== 'none', t: performance.now() });
  });
  requestAnimationFrame(tick);
})();
"""


def gtm_js(tags: list[dict[str, Any]]) -> str:
    return (FIXTURES / "gtm.js").read_text().replace("__CONTAINER__", json.dumps({"tags": tags}))


def levers_tags(snippet: str, extra: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    """the container a marketer builds: the site page's snippet as a custom html tag on initialization."""
    return [{"name": "Levers setup", "html": snippet, "trigger": "init"}, *(extra or [])]


def install(
    context: Any,
    snippet: str,
    *,
    config: dict[str, Any] | None = None,
    extra_tags: list[dict[str, Any]] | None = None,
    allow_automation: bool = True,
    tags: list[dict[str, Any]] | None = None,
) -> None:
    """serves the gtm simulator for gtm.js, and sets window.leversConfig before any page script runs."""
    body = gtm_js(tags if tags is not None else levers_tags(snippet, extra_tags))
    context.route(GTM_URL, lambda route: route.fulfill(body=body, content_type="application/javascript"))
    # a loaded ci machine can take over a second to answer; the timeout's own behaviour is tested with an
    # explicit short value, and the first view stays capped by the css failsafe whatever this says
    settings = {"allowAutomation": allow_automation, "timeout": 10_000, **(config or {})}
    context.add_init_script(f"window.leversConfig = {json.dumps(settings)};")


def claims(token: str) -> dict[str, Any]:
    body = token.split(".")[0]
    return json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))


@dataclass
class Org:
    """a fresh organization with one site for the fixture origin, driven through the management api."""

    levers: Levers
    site_origin: str
    client: httpx.Client = field(init=False)
    site: dict[str, Any] = field(init=False)
    experiments: dict[str, dict[str, Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.client = httpx.Client(base_url=self.levers.url, timeout=10)
        email = f"tag-{secrets.token_hex(4)}@example.com"
        credentials = {"email": email, "password": "a long enough password"}
        self.client.post("/auth/register", json=credentials).raise_for_status()
        token = self.client.post("/auth/login", json=credentials).json()["access_token"]
        self.client.headers["Authorization"] = f"Bearer {token}"
        self.site = self.post("/api/v1/sites", {"name": "fixture", "allowed_origins": [self.site_origin]})

    def post(self, path: str, body: dict[str, Any]) -> Any:
        response = self.client.post(path, json=body)
        assert response.status_code in {200, 201}, response.text
        return response.json()

    @property
    def snippet(self) -> str:
        return str(self.site["snippet"])

    def store_payload_unchecked(self, experiment: dict[str, Any], arm_index: int, payload: dict[str, Any]) -> None:
        """puts an arm change into postgres past the api's validation (as data saved before a rule was
        tightened would be), then drops redis's config so the app republishes it from postgres."""
        settings = self.levers.settings

        async def write() -> None:
            engine = create_async_engine(settings.async_database_url)
            async with engine.begin() as conn:
                await conn.execute(
                    text("update arms set payload = cast(:p as jsonb) where pool_id = :pool and index = :i"),
                    {"p": json.dumps(payload), "pool": UUID(experiment["pool_id"]), "i": arm_index},
                )
            await engine.dispose()

        run_isolated(lambda: asyncio.run(write()))
        redis = Redis.from_url(settings.redis_url)
        try:
            redis.delete(RedisKeys(settings.redis_prefix, settings.stream_shards).config_version)
        finally:
            redis.close()

    def experiment(
        self, key: str, arms: list[tuple[str, dict[str, Any]]], *, goal: dict[str, Any] | None = None, **fields: Any
    ) -> dict[str, Any]:
        pool = self.post(
            "/api/v1/pools", {"name": key, "arms": [{"name": name, "payload": payload} for name, payload in arms]}
        )
        body = {
            "name": key,
            "key": key,
            "pool_id": pool["id"],
            "site_id": self.site["id"],
            "reward_mode": "conversion",
            "goal": goal or {},
            **fields,
        }
        experiment = self.post("/api/v1/experiments", body)
        self.experiments[key] = experiment
        return experiment

    def patch(self, key: str, body: dict[str, Any]) -> None:
        response = self.client.put(f"/api/v1/experiments/{self.experiments[key]['id']}", json=body)
        assert response.status_code == 200, response.text


class Recorded:
    """what the server stored, read from redis: the de-duplication marks each recorded event leaves."""

    def __init__(self, levers: Levers) -> None:
        self.redis = Redis.from_url(levers.settings.redis_url)
        self.keys = RedisKeys(levers.settings.redis_prefix, levers.settings.stream_shards)

    def exposed(self, token: str) -> bool:
        return self._marked(token, "x")

    def converted(self, token: str) -> bool:
        return self._marked(token, "f")

    def guardrail(self, token: str, goal: str) -> bool:
        return self._marked(token, f"g:{goal}")

    def _marked(self, token: str, kind: str) -> bool:
        payload = claims(token)
        return bool(self.redis.exists(self.keys.dedup(payload["e"], f"{kind}:{payload['n']}")))

    def close(self) -> None:
        self.redis.close()


class Traffic:
    """every request the page sends to the levers api, with its parsed body and its answer."""

    def __init__(self, page: Any) -> None:
        self.decides: list[dict[str, Any]] = []
        self.events: list[dict[str, Any]] = []
        self.answers: list[dict[str, Any]] = []
        self.decisions: list[dict[str, Any]] = []
        page.on("request", self._request)
        page.on("response", self._response)

    def _request(self, request: Any) -> None:
        if "/p/site_" not in request.url or request.method != "POST":
            return
        body = json.loads(request.post_data or "{}")
        (self.decides if request.url.endswith("/d") else self.events).append(
            {"body": body, "headers": request.headers, "type": request.resource_type}
        )

    def _response(self, response: Any) -> None:
        if "/p/site_" not in response.url or response.request.method != "POST":
            return
        from playwright.sync_api import Error

        try:
            body = response.json() if response.status in {200, 202} else None
        except Error:
            # an answer that arrives after the page navigated away (events flushed on pagehide) has no body
            # left to read; the request itself is still in self.events
            return
        if body is None:
            return
        if response.url.endswith("/e"):
            self.answers.append(body)
        elif response.url.endswith("/d"):
            self.decisions.extend(body["d"])

    def decision(self, key: str) -> dict[str, Any]:
        return [d for d in self.decisions if d["x"] == key][-1]

    def sent(self, kind: str) -> list[dict[str, Any]]:
        return [e for batch in self.events for e in batch["body"]["e"] if e["k"] == kind]


def poll(condition: Any, page: Any, timeout_ms: int = 10_000) -> None:
    """waits for a condition on python-side state, letting playwright deliver events meanwhile."""
    waited = 0
    while not condition():
        if waited >= timeout_ms:
            raise AssertionError("condition not met in time")
        page.wait_for_timeout(50)
        waited += 50


def settle(page: Any, quiet_ms: int = 300) -> None:
    """before asserting that nothing (more) was sent: networkidle fires once per document, so it alone may
    return at once; let the tag's queued sends start, then give a stray request time to show up."""
    page.wait_for_load_state("networkidle")
    page.evaluate("new Promise(resolve => setTimeout(resolve, 0))")
    page.wait_for_timeout(quiet_ms)


def site_page(site: FixtureSite, name: str, query: str = "") -> str:
    return f"{site.origin}/{name}{query}"


def template_tag(levers: Levers, site_key: str, kind: str, trigger: str, data: dict[str, Any]) -> dict[str, Any]:
    """a community template tag as the site page serves it (url pinned), for the simulator's sandbox."""
    text = httpx.get(f"{levers.url}/t/{site_key}.{kind}.tpl").raise_for_status().text
    template = parse_template(text)
    return {
        "name": template["info"]["displayName"],
        "code": template["code"],
        "urls": template["urls"],
        "data": {**template["defaults"], **data},
        "trigger": trigger,
    }
