"""the experiment and gate forms in chromium: adding an arm or a bad value swaps part of the page in place, so
the page keeps its place (scroll position, a marker on window) and focus lands on the new arm or the invalid
field, whose description names it; without javascript the same buttons post the whole form. axe-clean with
the errors shown."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.accessibility import assert_accessible
from tests.e2e.conftest import Levers
from tests.e2e.dashboard_support import api_token, sign_up

pytestmark = pytest.mark.e2e

# what the element with focus is described by (its aria-describedby ids' text), as a screen reader reads it
DESCRIPTION = """() => {
  const ids = (document.activeElement.getAttribute('aria-describedby') || '').split(' ').filter(Boolean);
  return ids.map(id => document.getElementById(id).textContent.trim()).join(' | ');
}"""


def watch(page: Any) -> list[str]:
    """page errors and console errors. chromium logs every 4xx answer as an error: the form's 422 (a form
    answered with its errors) is expected, and so is /favicon.ico's 404 (the dashboard has none)."""
    problems: list[str] = []

    def on_console(message: Any) -> None:
        where = message.location.get("url", "")
        expected = "status of 422" in message.text or where.endswith("/favicon.ico")
        if message.type == "error" and not expected:
            problems.append(f"console: {message.text} at {where}")

    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.on("console", on_console)
    return problems


def mark(page: Any) -> None:
    """a value on window: it survives a swap and is gone after any navigation."""
    page.evaluate("() => { window.__levers_marker = 'still here'; }")


def marker(page: Any) -> Any:
    return page.evaluate("() => window.__levers_marker")


def test_experiment_form_adds_arms_and_shows_errors_in_place(context: Any, levers: Levers, artifacts: Path) -> None:
    from playwright.sync_api import expect

    page = context.new_page()
    problems = watch(page)
    sign_up(page, levers.url)
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(f"{levers.url}/experiments/new")
    url = page.url
    mark(page)
    page.get_by_label("Name", exact=True).fill("Hero button")
    arms = page.locator("fieldset.arm")
    arms.nth(1).get_by_label("Arm name").fill("Green")
    arms.nth(1).get_by_label("Text shown").fill("Buy now")

    add = page.get_by_role("button", name="Add an arm")
    add.scroll_into_view_if_needed()
    before = page.evaluate("() => window.scrollY")
    assert before > 0
    add.click()
    new_arm = page.locator("#arm-2-name")
    expect(new_arm).to_be_focused()
    assert page.evaluate("() => document.activeElement.id") == "arm-2-name"
    assert page.evaluate("() => window.scrollY") > 0
    assert marker(page) == "still here" and page.url == url
    expect(arms).to_have_count(3)
    expect(arms.nth(1).get_by_label("Text shown")).to_have_value("Buy now")
    new_arm.fill("Red")
    page.screenshot(path=str(artifacts / "form-swaps-arm-added.png"))

    # removing the first arm: the one now in its place takes focus, and the page stays where it was
    page.get_by_role("button", name="Remove arm 1").click()
    expect(arms).to_have_count(2)
    expect(page.locator("#arm-0-name")).to_be_focused()
    expect(page.locator("#arm-0-name")).to_have_value("Green")
    assert page.evaluate("() => window.scrollY") > 0 and marker(page) == "still here"

    # bad input: 150 % of visitors. the form comes back in place, focus on that field, which names itself
    page.get_by_label("Visitors in the experiment (%)").fill("150")
    page.get_by_role("button", name="Create experiment").click()
    field = page.locator("#traffic_percent")
    expect(field).to_be_focused()
    expect(field).to_have_attribute("aria-invalid", "true")
    description = page.evaluate(DESCRIPTION)
    assert description.startswith("Visitors in the experiment: Enter a number between 0 and 100."), description
    expect(page.locator("#form-errors")).to_contain_text("Visitors in the experiment: Enter a number")
    assert page.evaluate("() => window.scrollY") > 0
    assert marker(page) == "still here" and page.url == url
    expect(page.locator("#arm-1-name")).to_have_value("Red")
    page.screenshot(path=str(artifacts / "form-swaps-experiment-error.png"))
    assert_accessible(page, "experiment form with an error")

    # the summary's link takes the reader to the field
    page.locator("#form-errors").get_by_role("link").click()
    expect(field).to_be_focused()

    field.fill("100")
    page.get_by_role("button", name="Create experiment").click()
    expect(page).to_have_url(re.compile(r"/experiments/[0-9a-f-]{36}$"))
    assert page.url != url and marker(page) is None
    expect(page.locator("h1")).to_contain_text("Hero button")
    assert problems == []


def test_a_focused_field_is_not_hidden_under_the_sticky_save_bar(context: Any, levers: Levers) -> None:
    from playwright.sync_api import expect

    page = context.new_page()
    sign_up(page, levers.url)
    page.set_viewport_size({"width": 375, "height": 740})
    page.goto(f"{levers.url}/experiments/new")
    # the next field starts just above the bottom edge, behind the bar; tabbing to it must bring it clear
    page.evaluate(
        """() => {
          const next = document.getElementById('exploration_floor');
          window.scrollTo(0, window.scrollY + next.getBoundingClientRect().top - window.innerHeight + 20);
          document.getElementById('traffic_percent').focus({preventScroll: true});
        }"""
    )
    page.keyboard.press("Tab")
    expect(page.locator("#exploration_floor")).to_be_focused()
    bottom, bar = page.evaluate(
        """() => [document.activeElement.getBoundingClientRect().bottom,
                  document.querySelector('.sticky-actions').getBoundingClientRect().top]"""
    )
    assert bottom <= bar, (bottom, bar)


def test_without_javascript_the_form_posts_and_focuses_the_new_arm(browser: Any, levers: Levers) -> None:
    from playwright.sync_api import expect

    context = browser.new_context(java_script_enabled=False)
    try:
        page = context.new_page()
        sign_up(page, levers.url)
        page.goto(f"{levers.url}/experiments/new")
        page.get_by_label("Name", exact=True).fill("No script")
        page.locator("fieldset.arm").nth(1).get_by_label("Arm name").fill("Green")
        page.get_by_role("button", name="Add an arm").click()
        # a whole new page, which the browser opens at the new arm (its autofocus)
        expect(page.locator("fieldset.arm")).to_have_count(3)
        expect(page.locator("#arm-2-name")).to_be_focused()
        expect(page.get_by_label("Name", exact=True)).to_have_value("No script")
        page.get_by_label("Probability to be best (%)").fill("40")
        page.get_by_role("button", name="Create experiment").click()
        expect(page.locator("#prob_best-error")).to_have_text(
            "Probability to be best: Enter a percentage above 50 and at most 100."
        )
        expect(page.locator("#prob_best")).to_have_attribute("aria-invalid", "true")
    finally:
        context.close()


def test_gate_form_names_and_focuses_the_bad_field_in_place(context: Any, levers: Levers, artifacts: Path) -> None:
    from playwright.sync_api import expect

    page = context.new_page()
    problems = watch(page)
    email = sign_up(page, levers.url)
    headers = api_token(levers.url, email)
    arms = [{"name": "Control"}, {"name": "Green"}]
    pool = httpx.post(f"{levers.url}/api/v1/pools", headers=headers, json={"name": "p", "arms": arms}).json()
    body = {"name": "Gated", "pool_id": pool["id"], "status": "draft"}
    experiment = httpx.post(f"{levers.url}/api/v1/experiments", headers=headers, json=body).json()

    page.set_viewport_size({"width": 1280, "height": 700})
    page.goto(f"{levers.url}/gates/new?experiment_id={experiment['id']}")
    url = page.url
    mark(page)
    # bad input: a rollout of 150 %, submitted from the bottom of the page
    page.get_by_label("Rollout (% of visitors the bandit serves)").fill("150")
    create = page.get_by_role("button", name="Create gate")
    create.scroll_into_view_if_needed()
    assert page.evaluate("() => window.scrollY") > 0
    create.click()
    field = page.locator("#rollout_percent")
    expect(field).to_be_focused()
    expect(field).to_have_attribute("aria-invalid", "true")
    description = page.evaluate(DESCRIPTION)
    assert description.startswith("Rollout percentage: enter a number between 0 and 100"), description
    assert marker(page) == "still here" and page.url == url
    page.screenshot(path=str(artifacts / "form-swaps-gate-error.png"))
    assert_accessible(page, "gate form with an error")

    field.fill("50")
    page.get_by_role("button", name="Create gate").click()
    expect(page.get_by_role("status")).to_contain_text("Saved.")
    assert marker(page) is None and "saved=1" in page.url
    assert problems == []
