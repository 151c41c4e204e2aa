"""a forgotten password in chromium: ask for a link, read it in the dev mailbox page, set a new password, and the
other device's session is gone; each page is axe-clean at desktop and phone size."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.accessibility import PHONE, assert_accessible
from tests.e2e.conftest import Levers
from tests.e2e.dashboard_support import PASSWORD, sign_up

pytestmark = pytest.mark.e2e

NEW_PASSWORD = "my new and longer passphrase"


def watch_console(page: Any) -> list[str]:
    problems: list[str] = []
    # a status the test provokes (the 422 of a refused password, chromium's /favicon.ico) is no script error
    page.on(
        "console",
        lambda m: (
            problems.append(m.text) if m.type == "error" and not m.text.startswith("Failed to load resource") else None
        ),
    )
    page.on("pageerror", lambda e: problems.append(str(e)))
    return problems


def test_password_reset_through_the_dev_mailbox(browser: Any, context: Any, levers: Levers, artifacts: Path) -> None:
    from playwright.sync_api import expect

    page = context.new_page()
    problems = watch_console(page)
    email = sign_up(page, levers.url)

    # another device stays logged in until the reset
    other = browser.new_context()
    laptop = other.new_page()
    laptop.goto(f"{levers.url}/login")
    laptop.get_by_label("Email").fill(email)
    laptop.get_by_label("Password").fill(PASSWORD)
    laptop.get_by_role("button", name="Log in").click()
    expect(laptop).to_have_url(f"{levers.url}/experiments")

    page.get_by_role("button", name="Log out", exact=True).click()
    page.get_by_role("link", name="Forgot your password?").click()
    assert_accessible(page, "forgot password")
    page.get_by_label("Email").fill(email)
    page.get_by_role("button", name="Send me a link").click()
    expect(page.get_by_role("status")).to_contain_text("we've sent it a link")
    page.screenshot(path=str(artifacts / "account-forgot-sent.png"), full_page=True)

    page.goto(f"{levers.url}/dev/mailbox?to={email}")
    mail = page.locator("article.mail", has_text="Reset your Levers password").first
    expect(mail).to_contain_text("works once, for 30 minutes")
    assert_accessible(page, "dev mailbox")
    page.screenshot(path=str(artifacts / "account-dev-mailbox.png"), full_page=True)
    mail.get_by_role("link", name="Open the link").click()
    expect(page).to_have_url(re.compile(r"/reset-password/"))
    assert_accessible(page, "reset password")

    # a refused password names its field and keeps the link usable
    page.get_by_label("New password", exact=True).fill("password1234")
    page.get_by_label("New password, again").fill("password1234")
    page.get_by_role("button", name="Set new password").click()
    expect(page.locator("#password-error")).to_be_visible()
    expect(page.get_by_label("New password", exact=True)).to_have_attribute("aria-invalid", "true")
    page.set_viewport_size(PHONE)
    page.screenshot(path=str(artifacts / "account-reset-error-phone.png"), full_page=True)
    page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("New password, again").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Set new password").click()
    expect(page).to_have_url(re.compile(r"/login\?reset=1"))
    expect(page.get_by_role("status")).to_contain_text("every other session has ended")
    expect(page.get_by_label("Email")).to_have_value(email)
    page.get_by_label("Password").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(f"{levers.url}/experiments")

    laptop.reload()
    expect(laptop).to_have_url(re.compile(r"/login"))
    other.close()

    assert problems == [], problems
