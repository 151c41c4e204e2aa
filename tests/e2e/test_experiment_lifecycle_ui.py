"""a marketer's lifecycle in chromium: confirmation dialogs (focus, escape, what they say), undo, duplicate,
archive and restore, typed-name delete, and the targeting rule builder with its live url test; axe-core finds
no violations on the pages and open dialogs, at desktop and phone size; no console errors."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import httpx

from tests.e2e.accessibility import assert_accessible
from tests.e2e.conftest import Levers
from tests.e2e.dashboard_support import api_token, sign_up


def check_axe(page: Any, where: str) -> None:
    # the page as it is, open dialogs included
    assert_accessible(page, where)


def new_experiment(levers: Levers, headers: dict[str, str], name: str, status: str) -> dict[str, Any]:
    with httpx.Client(base_url=levers.url, headers=headers) as client:
        arms = [{"name": "Blue", "payload": {"text": "Buy"}}, {"name": "Green", "payload": {"text": "Buy now"}}]
        pool = client.post("/api/v1/pools", json={"name": name, "arms": arms}).json()
        body = {"name": name, "pool_id": pool["id"], "reward_mode": "conversion", "status": status}
        created = client.post("/api/v1/experiments", json=body)
        assert created.status_code == 201, created.text
        return dict(created.json())


def watch_console(page: Any, expected: tuple[str, ...] = ()) -> list[str]:
    """console errors and page errors; a 4xx the test provokes on purpose (``expected`` url endings) and the
    browser's own favicon request are not errors of the page."""
    errors: list[str] = []

    def console(message: Any) -> None:
        url = (message.location or {}).get("url", "")
        if message.type == "error" and not url.endswith(("/favicon.ico", *expected)):
            errors.append(f"{message.text} ({url})")

    page.on("console", console)
    page.on("pageerror", lambda e: errors.append(str(e)))
    return errors


def test_dialogs_undo_duplicate_archive_and_delete(context: Any, levers: Levers, artifacts: Path) -> None:
    from playwright.sync_api import expect

    page = context.new_page()
    page.set_viewport_size({"width": 1280, "height": 900})
    errors = watch_console(page, expected=("/delete",))  # the wrong name, typed on purpose, is a 422
    email = sign_up(page, levers.url)
    experiment = new_experiment(levers, api_token(levers.url, email), "Hero button", "running")
    page.goto(f"{levers.url}/experiments/{experiment['id']}")

    # pause: a modal dialog that says what happens, cancel focused; escape closes it and focus goes back
    pause = page.get_by_role("button", name="Pause…")
    pause.click()
    dialog = page.get_by_role("dialog", name="Pause “Hero button”?")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("Every visitor gets Blue until you resume")
    expect(dialog.get_by_role("button", name="Cancel")).to_be_focused()
    check_axe(page, "pause dialog")
    page.screenshot(path=str(artifacts / "lifecycle-pause-dialog.png"))
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(pause).to_be_focused()
    expect(page.locator("#status")).to_have_text("running")

    # stop, then undo
    page.get_by_role("button", name="Stop…").click()
    stop = page.get_by_role("dialog", name="Stop “Hero button” without a winner?")
    expect(stop).to_contain_text("You can undo this for 10 minutes.")
    stop.get_by_role("button", name="Stop and serve Blue").click()
    expect(page.locator("#status")).to_have_text("completed")
    expect(page.locator("#serving-now")).to_contain_text("Blue (the control) to every visitor")
    page.screenshot(path=str(artifacts / "lifecycle-stopped-with-undo.png"), full_page=True)
    page.get_by_role("button", name="Undo").click()
    expect(page.locator("#status")).to_have_text("running")
    expect(page.locator("#done-notice")).to_contain_text("Undone")

    # declare a winner from its dialog: the final verdict replaces the live recommendation
    page.get_by_role("button", name="Declare a winner…").click()
    winner = page.get_by_role("dialog", name="Declare a winner for “Hero button”")
    check_axe(page, "winner dialog")
    winner.get_by_label("Green").check()
    page.screenshot(path=str(artifacts / "lifecycle-winner-dialog.png"))
    winner.get_by_role("button", name="Declare the winner").click()
    expect(page.locator("#winner-banner")).to_contain_text("Winner: Green")
    expect(page.locator("#serving-now")).to_contain_text("Green to every visitor")
    expect(page.locator("[data-recommendation]")).to_have_count(0)
    check_axe(page, "completed page")
    page.screenshot(path=str(artifacts / "lifecycle-completed.png"), full_page=True)

    # duplicate: a draft copy with the same arms
    page.get_by_role("button", name="Duplicate").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Copy of Hero button")
    expect(page.locator("#done-notice")).to_contain_text("draft copy")
    copy_url = page.url.split("?")[0]

    # archive the copy (a draft), find it under the archived filter, restore it
    page.get_by_role("button", name="Archive…").click()
    archive = page.get_by_role("dialog", name="Archive “Copy of Hero button”?")
    expect(archive).to_contain_text("You can restore it at any time.")
    archive.get_by_role("button", name="Archive").click()
    expect(page.locator("#archived-banner")).to_be_visible()
    page.goto(f"{levers.url}/experiments")
    expect(page.locator("#experiment-list")).not_to_contain_text("Copy of Hero button")
    page.get_by_label("Show").select_option("archived")
    page.get_by_role("button", name="Apply").click()
    expect(page.locator("#experiment-list")).to_contain_text("Copy of Hero button")
    page.goto(copy_url)
    page.get_by_role("button", name="Restore").click()
    expect(page.locator("#archived-banner")).to_have_count(0)

    # delete: the name must be typed; a wrong one is refused with the field named
    page.get_by_role("button", name="Delete…").click()
    delete = page.get_by_role("dialog", name="Delete “Copy of Hero button” for good?")
    expect(delete.get_by_role("button", name="Cancel")).to_be_focused()
    check_axe(page, "delete dialog")
    delete.get_by_label(re.compile("Type the experiment's name")).fill("copy")
    page.screenshot(path=str(artifacts / "lifecycle-delete-dialog.png"))
    delete.get_by_role("button", name="Delete the experiment").click()
    field = page.get_by_label(re.compile("Type the experiment's name"))
    expect(field).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#confirm_name-error")).to_contain_text("exactly as shown")
    check_axe(page, "delete page with error")
    field.fill("Copy of Hero button")
    page.get_by_role("button", name="Delete the experiment").click()
    expect(page.locator("#done-notice")).to_contain_text("Deleted “Copy of Hero button”")
    expect(page.locator("#experiment-list")).to_contain_text("Hero button")
    expect(page.locator('#experiment-list [data-field="leader"]').first).to_contain_text("Green")
    check_axe(page, "experiments list")
    page.screenshot(path=str(artifacts / "lifecycle-list.png"), full_page=True)
    assert errors == [], errors


def test_rule_builder_with_live_url_test(context: Any, levers: Levers, artifacts: Path) -> None:
    from playwright.sync_api import expect

    page = context.new_page()
    page.set_viewport_size({"width": 1280, "height": 900})
    errors = watch_console(page, expected=("/targeting",))  # the empty value, left on purpose, is a 422
    email = sign_up(page, levers.url)
    headers = api_token(levers.url, email)
    experiment = new_experiment(levers, headers, "Pricing banner", "running")
    page.goto(f"{levers.url}/experiments/{experiment['id']}")
    expect(page.locator("#targeting-summary")).to_have_text("Everyone: no targeting rules.")
    page.get_by_text("Edit targeting").click()
    page.get_by_role("button", name="Add a rule").click()

    # the rule's pickers, then a value left empty: the error names the rule and the field, and is linked
    expect(page.get_by_label("Look at")).to_be_visible()
    page.get_by_label("Look at").select_option(label="Page path")
    page.get_by_label("How", exact=True).select_option(label="starts with")
    page.get_by_role("button", name="Save targeting").click()
    value = page.get_by_label(re.compile("^Value"))
    expect(value).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#rule-0-value-error")).to_have_text("Rule 1: enter the value to compare with.")
    check_axe(page, "builder with an error")

    value.fill("/checkout")
    page.get_by_label("Then these visitors").select_option(label="always see Green")
    # the live test answers as the address is typed, through htmx, from the unsaved rules
    page.get_by_label("Page address").fill("https://shop.example/checkout?step=2")
    expect(page.locator("#targeting-test [data-test]")).to_have_attribute("data-test", "out")
    expect(page.locator("#targeting-test")).to_contain_text("This visitor always sees Green.")
    page.get_by_label("Page address").fill("https://shop.example/pricing")
    expect(page.locator("#targeting-test [data-test]")).to_have_attribute("data-test", "in")
    page.screenshot(path=str(artifacts / "targeting-builder.png"), full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})
    page.screenshot(path=str(artifacts / "targeting-builder-phone.png"), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 900})

    page.get_by_role("button", name="Save targeting").click()
    expect(page.locator("#done-notice")).to_contain_text("Targeting saved")
    expect(page.locator("#targeting-summary")).to_contain_text(
        "Visitors whose page path starts with “/checkout”: always see Green."
    )
    check_axe(page, "experiment page with targeting")
    page.locator("#targeting").screenshot(path=str(artifacts / "targeting-summary.png"))

    with httpx.Client(base_url=levers.url, headers=headers) as client:
        body = {"experiment_id": experiment["id"], "context": {"id": "v1", "metadata": {"path": "/checkout/pay"}}}
        chosen = client.post("/api/v1/select", content=json.dumps(body), headers={"content-type": "application/json"})
        assert chosen.status_code == 200 and chosen.json()["arm"]["name"] == "Green", chosen.text
    assert errors == [], errors
