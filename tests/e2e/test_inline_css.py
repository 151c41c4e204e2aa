"""a browser's first page carries the stylesheet inline, under the page's csp; the next page links the file, which
the first one prefetched: it comes from the cache, and the page looks the same."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import Levers
from tests.e2e.dashboard_support import api_token, seed_hourly, sign_up
from tests.e2e.test_dashboard_csp import RECORD_VIOLATIONS

pytestmark = pytest.mark.e2e

CSS = Path(__file__).resolve().parents[2] / "frontend" / "static" / "css" / "levers.css"
# what the stylesheet gives a few elements of the login page (the browser's defaults differ on each)
LOOKS = """() => {
  const style = (selector, ...names) => {
    const computed = getComputedStyle(document.querySelector(selector));
    return names.map((name) => selector + " " + name + ": " + computed.getPropertyValue(name));
  };
  return [
    ...style("body", "background-color", "color", "font-size", "margin-top"),
    ...style("h1", "font-size", "letter-spacing"),
    ...style("main", "max-width", "padding-left"),
    ...style("button[type=submit]", "background-color", "color", "border-radius"),
  ];
}"""


class CssRequests:
    """the stylesheet's requests as chromium's network layer saw them: which went out, which the cache answered."""

    def __init__(self, context: Any, page: Any) -> None:
        self.seen: dict[str, dict[str, Any]] = {}
        cdp = context.new_cdp_session(page)
        cdp.send("Network.enable")
        cdp.on("Network.requestWillBeSent", self._sent)
        cdp.on("Network.requestServedFromCache", lambda e: self._mark(e, cached=True))
        cdp.on("Network.responseReceived", self._received)
        cdp.on("Network.loadingFinished", lambda e: self._mark(e, finished=True, wire=e["encodedDataLength"]))

    def _sent(self, event: dict[str, Any]) -> None:
        if "/static/css/" in event["request"]["url"]:
            self.seen[event["requestId"]] = {"url": event["request"]["url"], "type": event.get("type"), "cached": False}

    def _mark(self, event: dict[str, Any], **fields: Any) -> None:
        if event["requestId"] in self.seen:
            self.seen[event["requestId"]].update(fields)

    def _received(self, event: dict[str, Any]) -> None:
        response = event["response"]
        served = self.seen.get(event["requestId"], {}).get("cached")
        cached = served or response.get("fromDiskCache") or response.get("fromPrefetchCache")
        self._mark(event, status=response["status"], cached=cached)

    def finished(self) -> list[dict[str, Any]]:
        return [request for request in self.seen.values() if request.get("finished")]


def test_the_first_page_inlines_the_css_and_the_next_takes_the_file_from_the_cache(
    context: Any, levers: Levers, artifacts: Path
) -> None:
    context.add_init_script(RECORD_VIOLATIONS)
    page = context.new_page()
    problems: list[str] = []
    # a refused style would be a console error; chromium's ask for /favicon.ico is a 404 (files: checked below)
    page.on(
        "console",
        lambda message: (
            problems.append(message.text)
            if message.type == "error" and not message.text.startswith("Failed to load resource")
            else None
        ),
    )
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    requests = CssRequests(context, page)
    url = f"/static/css/levers.{hashlib.sha256(CSS.read_bytes()).hexdigest()[:12]}.css"

    first = page.goto(f"{levers.url}/login")
    assert first is not None and "'sha256-" in first.headers["content-security-policy"]
    # the stylesheet is in the page, applied under the policy, and nothing asked for the file to paint it
    assert page.locator("style").count() == 1 and page.locator("link[rel=stylesheet]").count() == 0
    assert page.locator("style").text_content() == CSS.read_text()
    looks = page.evaluate(LOOKS)
    assert "body background-color: rgb(246, 248, 250)" in looks, looks
    assert page.evaluate("() => window.__violations") == []
    cold = page.screenshot(path=str(artifacts / "inline-css-cold.png"), full_page=True)
    cookie = {c["name"]: c for c in context.cookies()}["levers_css"]
    assert cookie["value"] == url.split(".")[-2] and cookie["sameSite"] == "Lax" and cookie["path"] == "/"
    # after the load, the prefetch brings the file into the cache
    for _ in range(250):
        if requests.finished():
            break
        page.wait_for_timeout(40)
    prefetched = requests.finished()
    assert [(r["url"], r["status"]) for r in prefetched] == [(levers.url + url, 200)], requests.seen
    assert prefetched[0]["wire"] > 1000 and not prefetched[0]["cached"]

    # the next pages link the file: chromium answers it from its cache, and they look the same
    requests.seen.clear()
    page.goto(f"{levers.url}/register")
    assert page.locator("style").count() == 0
    assert page.locator("link[rel=stylesheet]").get_attribute("href") == url
    assert page.evaluate("getComputedStyle(document.body).backgroundColor") == "rgb(246, 248, 250)"
    page.goto(f"{levers.url}/login")
    assert page.locator("style").count() == 0 and page.evaluate(LOOKS) == looks
    assert page.screenshot(path=str(artifacts / "inline-css-warm.png"), full_page=True) == cold
    assert requests.seen, "the linked stylesheet was never asked for"
    went_out = [r for r in requests.seen.values() if not r["cached"] or r.get("wire")]
    assert went_out == [], requests.seen
    assert page.evaluate("() => window.__violations") == []
    assert problems == [], problems


def test_the_results_page_opened_cold_runs_under_the_policy_with_its_css_inline(context: Any, levers: Levers) -> None:
    """the page the inline css is for: its style attributes (the meters), htmx and the charts still work."""
    from playwright.sync_api import expect

    context.add_init_script(RECORD_VIOLATIONS)
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    email = sign_up(page, levers.url)
    headers = api_token(levers.url, email)
    arms = [{"name": "Control"}, {"name": "Green"}]
    pool = httpx.post(f"{levers.url}/api/v1/pools", headers=headers, json={"name": "hero", "arms": arms}).json()
    body = {"name": "Hero", "pool_id": pool["id"], "reward_mode": "conversion", "status": "running"}
    experiment = httpx.post(f"{levers.url}/api/v1/experiments", headers=headers, json=body).json()
    seed_hourly(levers.settings.database_url, experiment["id"], [0.04, 0.06], days=3)

    context.clear_cookies(name="levers_css")  # a browser with a session but without the file
    page.goto(f"{levers.url}/experiments/{experiment['id']}")
    assert page.locator("style").count() == 1 and page.locator("link[rel=stylesheet]").count() == 0
    meter = page.locator('.results-table [data-field="prob_best"] .meter span').first
    assert meter.evaluate("(el) => el.style.width").endswith("%")
    assert meter.evaluate("(el) => el.getBoundingClientRect().width") > 0  # the css gives the meter its box
    expect(page.locator('canvas[data-chart="rate"]')).to_have_attribute("data-drawn", "1")
    assert page.evaluate("() => window.__violations") == []
    assert problems == [], problems
