"""the dashboard under its strict content security policy, in chromium: every page works, nothing is refused.

violations are caught three ways: the document's `securitypolicyviolation` events (recorded by an init
script, which the page's policy does not govern), console errors ("Refused to ..."), and page errors.
an arm named `<!--<script>` rides along: the results page must still run its charts past the embedded data.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import Levers
from tests.e2e.dashboard_support import api_token, seed_hourly, sign_up

pytestmark = pytest.mark.e2e

RECORD_VIOLATIONS = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__violations.push(e.violatedDirective + " " + e.blockedURI + " " + (e.sourceFile || "") + ":" + e.lineNumber);
});
"""


def test_dashboard_runs_under_its_csp_without_violations(context: Any, levers: Levers, artifacts: Path) -> None:
    from playwright.sync_api import expect

    context.add_init_script(RECORD_VIOLATIONS)
    page = context.new_page()
    problems: list[str] = []

    def on_console(message: Any) -> None:
        # a failed load is recorded with its url below (chromium asks every site for /favicon.ico)
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            problems.append(f"console {message.type}: {message.text}")

    def on_response(answer: Any) -> None:
        if answer.status >= 400 and not answer.url.endswith("/favicon.ico"):
            problems.append(f"{answer.status} {answer.url}")

    page.on("console", on_console)
    page.on("response", on_response)
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))

    email = sign_up(page, levers.url)
    headers = api_token(levers.url, email)
    arms = [{"name": "Control"}, {"name": "<!--<script>"}]
    pool = httpx.post(f"{levers.url}/api/v1/pools", headers=headers, json={"name": "hero", "arms": arms}).json()
    body = {"name": "Hero", "pool_id": pool["id"], "reward_mode": "conversion", "status": "draft"}
    experiment = httpx.post(f"{levers.url}/api/v1/experiments", headers=headers, json=body).json()
    seed_hourly(levers.settings.database_url, experiment["id"], [0.04, 0.06], days=3)

    response = page.goto(f"{levers.url}/experiments/{experiment['id']}")
    assert response is not None
    csp = response.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    for chart in ("density", "traffic", "prob_best", "rate"):
        expect(page.locator(f'canvas[data-chart="{chart}"]')).to_have_attribute("data-drawn", "1")
    expect(page.locator('tr[data-arm="<!--<script>"]')).to_have_count(1)
    # htmx works under the policy: starting the experiment swaps the status in place
    page.get_by_role("button", name="Start…").click()
    page.get_by_role("button", name="Start the experiment").click()  # its confirmation dialog
    expect(page.locator("#status")).to_have_text("running")
    expect(page.locator("#results")).to_have_attribute("data-poll", f"/experiments/{experiment['id']}/results")
    page.wait_for_timeout(3500)  # one self-refresh of the results fragment

    for path in ("/experiments", "/sites", "/gates", "/team", "/api-keys", f"/experiments/{experiment['id']}/edit"):
        answer = page.goto(f"{levers.url}{path}")
        assert answer is not None and answer.status == 200, path
    page.screenshot(path=str(artifacts / "dashboard-csp.png"), full_page=True)

    violations = page.evaluate("() => window.__violations")
    assert violations == [], violations
    assert problems == [], problems
