"""the tag in real chromium: consent modes with gtm consent mode, and single-page apps (issue 5, behaviours 8, 9)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.conftest import FixtureSite, Levers
from tests.e2e.tag_support import Org, Recorded, Traffic, install, poll, settle

pytestmark = pytest.mark.e2e

VARIANTS = [("A", {"text": "Variant A wording"}), ("B", {"text": "Variant B wording"})]


@pytest.fixture
def org(levers: Levers, fixture_site: FixtureSite) -> Iterator[Org]:
    org = Org(levers, fixture_site.origin)
    yield org
    org.client.close()


def levers_storage(page: Any) -> list[str]:
    return page.evaluate("Object.keys(localStorage).filter(k => k.startsWith('levers_'))")


def levers_cookies(context: Any) -> list[str]:
    return [c["name"] for c in context.cookies() if c["name"].startswith("levers_")]


def test_consent_required_nothing_before_grant_then_denial_wipes(
    context: Any, org: Org, fixture_site: FixtureSite, levers: Levers
) -> None:
    from playwright.sync_api import expect

    org.experiment("hero", VARIANTS)
    install(context, org.snippet, config={"consent": "required"})
    page = context.new_page()
    traffic = Traffic(page)
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url) if "/p/" in r.url else None)
    page.goto(f"{fixture_site.origin}/consent.html")  # gtag('consent', 'default', {analytics_storage: 'denied'})
    hero = page.locator("#hero")
    expect(hero).to_have_attribute("data-levers-shown", "")
    expect(hero).to_have_text("Welcome to the shop")
    page.locator("#convert").click()
    settle(page)
    assert requests == [] and levers_storage(page) == [] and levers_cookies(context) == []

    page.locator("#accept").click()  # gtag('consent', 'update', {analytics_storage: 'granted'}) through gtm
    expect(hero).to_have_attribute("data-levers-arm", re.compile("A|B"))
    poll(lambda: len(traffic.answers) == 1, page)
    token = traffic.decision("hero")["t"]
    assert levers_cookies(context) == ["levers_id"] and "levers_t" in levers_storage(page)
    recorded = Recorded(levers)
    assert recorded.exposed(token)

    page.locator("#deny").click()
    poll(lambda: levers_storage(page) == [] and levers_cookies(context) == [], page)
    sent = len(requests)
    page.locator("#convert").click()
    page.reload()
    expect(hero).to_have_attribute("data-levers-shown", "")
    settle(page)
    assert len(requests) == sent  # denied (the page's default) after reload too: nothing sent
    assert not recorded.converted(token)
    recorded.close()


def test_consent_granted_by_default_and_gtm_denial_wipes(context: Any, org: Org, fixture_site: FixtureSite) -> None:
    from playwright.sync_api import expect

    org.experiment("hero", VARIANTS)
    install(context, org.snippet)  # mode "granted": no consent banner needed on this site
    page = context.new_page()
    page.goto(f"{fixture_site.origin}/shop.html")
    expect(page.locator("#hero")).to_have_attribute("data-levers-arm", re.compile("A|B"))
    poll(lambda: "levers_t" in levers_storage(page), page)
    page.evaluate("dataLayer.push(['consent', 'update', {analytics_storage: 'denied'}])")
    poll(lambda: levers_storage(page) == [] and levers_cookies(context) == [], page)


def test_cookieless_mode_stores_nothing_and_still_counts(
    context: Any, org: Org, fixture_site: FixtureSite, levers: Levers
) -> None:
    from playwright.sync_api import expect

    org.experiment("hero", VARIANTS)
    install(context, org.snippet, config={"consent": "cookieless"})
    page = context.new_page()
    traffic = Traffic(page)
    for _ in range(2):
        page.goto(f"{fixture_site.origin}/shop.html")
        expect(page.locator("#hero")).to_have_attribute("data-levers-arm", re.compile("A|B"))
        poll(lambda: len(traffic.answers) == len(traffic.decides), page)
    assert levers_storage(page) == [] and levers_cookies(context) == []
    visitors = {d["body"]["v"] for d in traffic.decides}
    assert len(visitors) == 2  # a fresh id per page view: nothing ties two views together
    recorded = Recorded(levers)
    assert all(recorded.exposed(d["t"]) for d in traffic.decisions)
    recorded.close()


def test_spa_history_change_decides_for_the_new_view_and_rerenders_are_reapplied(
    context: Any, org: Org, fixture_site: FixtureSite
) -> None:
    from playwright.sync_api import expect

    org.experiment("spa-hero", VARIANTS)
    org.experiment("spa-price", [("A", {"text": "Plans from 9 euros"}), ("B", {"text": "Plans from 8 euros"})])
    install(context, org.snippet)
    page = context.new_page()
    traffic = Traffic(page)
    page.goto(f"{fixture_site.origin}/spa.html")
    expect(page.locator("#spa-hero")).to_have_text(re.compile("Variant [AB] wording"))
    assert [d["body"]["x"] for d in traffic.decides] == [["spa-hero"]]

    page.locator("#nav-pricing").click()  # pushState + a render from scratch
    price = page.locator("#spa-price")
    expect(price).to_have_text(re.compile("Plans from [98] euros"))
    assert [d["body"]["x"] for d in traffic.decides] == [["spa-hero"], ["spa-price"]]
    assert traffic.decides[1]["body"]["u"].endswith("/spa.html?view=pricing")
    poll(lambda: len(traffic.sent("x")) == 2, page)

    page.locator("#rerender").click()  # the framework renders the view again, with the control text
    expect(price).to_have_text(re.compile("Plans from [98] euros"))
    page.go_back()  # popstate
    expect(page.locator("#spa-hero")).to_have_text(re.compile("Variant [AB] wording"))
    # networkidle fires once per document, and pushState views share one: wait on the requests themselves
    poll(lambda: len(traffic.sent("x")) == 3, page)  # one exposure per view: home, pricing, home again
    page.wait_for_timeout(300)
    assert len(traffic.sent("x")) == 3


def test_spa_reapplication_is_capped(context: Any, org: Org, fixture_site: FixtureSite) -> None:
    from playwright.sync_api import expect

    org.experiment("spa-hero", VARIANTS)
    install(context, org.snippet)
    page = context.new_page()
    page.goto(f"{fixture_site.origin}/spa.html")
    hero = page.locator("#spa-hero")
    expect(hero).to_have_text(re.compile("Variant [AB] wording"))
    # a framework that fights every change: after the cap the tag gives up rather than loop forever
    fights = page.evaluate(
        """async () => {
          const el = document.getElementById('spa-hero');
          let fights = 0;
          for (let i = 0; i < 40; i++) {
            el.textContent = 'Home sweet home';
            await new Promise(r => setTimeout(r, 15));
            if (el.textContent !== 'Home sweet home') fights++;
          }
          return fights;
        }"""
    )
    assert fights == 20
    expect(hero).to_have_text("Home sweet home")
