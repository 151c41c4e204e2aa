"""the tag in real chromium: what is counted and that it reaches the server (issue 5: behaviours 3, 4, 6, 7, 10, 11)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.conftest import FixtureSite, Levers
from tests.e2e.tag_support import Org, Recorded, Traffic, install, poll, settle

pytestmark = pytest.mark.e2e

VARIANTS = [("A", {"text": "Variant A wording"}), ("B", {"text": "Variant B wording"})]
# two arms that both leave the page as it is: whichever the bandit picks, the visitor sees control
CONTROLS = [("Control", {}), ("Control again", {})]


@pytest.fixture
def org(levers: Levers, fixture_site: FixtureSite) -> Iterator[Org]:
    org = Org(levers, fixture_site.origin)
    yield org
    org.client.close()


@pytest.fixture
def recorded(levers: Levers) -> Iterator[Recorded]:
    recorded = Recorded(levers)
    yield recorded
    recorded.close()


def storage(page: Any) -> dict[str, Any]:
    return page.evaluate(
        "Object.fromEntries(Object.keys(localStorage).filter(k => k.startsWith('levers_'))"
        ".map(k => [k, JSON.parse(localStorage.getItem(k))]))"
    )


def failed_in_outbox(page: Any) -> int:
    return sum(1 for event in storage(page).get("levers_o") or [] if event.get("f"))


def visitor_cookie(context: Any) -> str | None:
    return next((c["value"] for c in context.cookies() if c["name"] == "levers_id"), None)


def test_sticky_assignment_for_a_returning_visitor(
    context: Any, browser: Any, org: Org, fixture_site: FixtureSite
) -> None:
    from playwright.sync_api import expect

    org.experiment("hero", VARIANTS)
    install(context, org.snippet)
    page = context.new_page()
    traffic = Traffic(page)
    hero = page.locator("#hero")
    seen = []
    for _ in range(4):
        page.goto(f"{fixture_site.origin}/shop.html")
        expect(hero).to_have_attribute("data-levers-arm", re.compile("A|B"))
        seen.append((hero.get_attribute("data-levers-arm"), hero.text_content()))
    assert len(set(seen)) == 1, seen
    tokens = {d["t"] for d in traffic.decisions}
    assert len(tokens) == 1  # the same trial: the first token is kept, so the visitor counts once
    cookie = visitor_cookie(context)
    assert cookie and storage(page)["levers_id"] == cookie
    ids = {d["body"]["v"] for d in traffic.decides}
    assert ids == {cookie}


def test_exposure_only_for_elements_on_the_page_control_too_once_per_view(
    context: Any, org: Org, fixture_site: FixtureSite, recorded: Recorded
) -> None:
    from playwright.sync_api import expect

    org.experiment("hero", CONTROLS)
    org.experiment("promo", VARIANTS)  # marked, but display:none on the page
    org.experiment("absent", VARIANTS)  # live on the site, not on this page
    install(context, org.snippet)
    page = context.new_page()
    traffic = Traffic(page)
    page.goto(f"{fixture_site.origin}/shop.html")
    expect(page.locator("#hero")).to_have_attribute("data-levers-arm", re.compile("Control"))
    expect(page.locator("#hero")).to_have_text("Welcome to the shop")
    poll(lambda: len(traffic.answers) >= 1, page)
    # a re-render of the marked element is not a new exposure
    page.evaluate("document.getElementById('hero').textContent = 'Welcome to the shop'")
    page.locator("#signup").click()
    settle(page)

    assert sorted(traffic.decides[0]["body"]["x"]) == ["hero", "promo"]
    exposures = traffic.sent("x")
    assert [e["t"] for e in exposures] == [traffic.decision("hero")["t"]]
    assert recorded.exposed(traffic.decision("hero")["t"])
    assert not recorded.exposed(traffic.decision("promo")["t"])


def test_goals_click_url_event_and_api_carry_every_live_token(
    context: Any, org: Org, fixture_site: FixtureSite, recorded: Recorded
) -> None:
    from playwright.sync_api import expect

    org.experiment("hero", VARIANTS, goal={"type": "click", "value": "signup"})
    org.experiment("offer", CONTROLS, goal={"type": "url", "value": "/thanks.html"})
    org.experiment("cart", VARIANTS, goal={"type": "event", "value": "purchase"})
    install(context, org.snippet)
    page = context.new_page()
    traffic = Traffic(page)
    page.goto(f"{fixture_site.origin}/shop.html")
    poll(lambda: len(traffic.sent("x")) == 3 and len(traffic.answers) >= 1, page)
    tokens = {key: traffic.decision(key)["t"] for key in ("hero", "offer", "cart")}

    page.locator("#signup").click()  # data-levers-goal="signup" data-levers-value="5"
    poll(lambda: len(traffic.sent("c")) == 1 and len(traffic.answers) >= 2, page)
    assert traffic.sent("c")[0] | {"t": ""} == {"k": "c", "t": "", "g": "signup", "r": 1, "v": 5}
    assert traffic.sent("c")[0]["t"] == tokens["hero"]

    page.locator("#purchase").click()  # dataLayer.push({event: "purchase", ecommerce: {value: 42, ...}})
    page.locator("#purchase").click()  # the same transaction id again: not sent twice
    # the answer too: the navigation below would cancel it while in flight, and the test counts answers
    poll(lambda: len(traffic.sent("c")) == 2 and len(traffic.answers) >= 3, page)
    purchase = traffic.sent("c")[1]
    assert (purchase["t"], purchase["g"], purchase["v"], purchase["d"]) == (tokens["cart"], "purchase", 42, "T-1")

    page.locator("#to-thanks").click()
    expect(page.locator("#thanks")).to_be_visible()
    poll(lambda: len(traffic.sent("c")) == 3 and len(traffic.answers) >= 4, page)
    assert traffic.sent("c")[2]["t"] == tokens["offer"]
    assert len(traffic.sent("c")) == 3
    for key in ("hero", "offer", "cart"):
        assert recorded.converted(tokens[key]), key


def test_convert_api_with_eid_counts_once(
    context: Any, org: Org, fixture_site: FixtureSite, recorded: Recorded
) -> None:
    org.experiment("hero", VARIANTS)  # no goal: every levers('convert', ...) counts
    install(context, org.snippet)
    page = context.new_page()
    traffic = Traffic(page)
    page.goto(f"{fixture_site.origin}/shop.html")
    poll(lambda: len(traffic.answers) >= 1, page)
    page.locator("#convert").click()  # levers('convert', 'signup', {value: 5, eid: 'order-1'})
    page.locator("#convert").click()
    poll(lambda: len(traffic.answers) >= 2, page)
    page.reload()  # a reloaded confirmation page repeats the call: the eid is remembered
    page.locator("#convert").click()
    settle(page)
    conversions = traffic.sent("c")
    assert len(conversions) == 1 and conversions[0]["d"] == "order-1"
    assert recorded.converted(traffic.decision("hero")["t"])


def test_guardrail_goals_are_sent_and_recorded_apart(
    context: Any, org: Org, fixture_site: FixtureSite, recorded: Recorded
) -> None:
    # the bandit's goal is the signup click; purchases must not get worse
    guardrails = [{"goal": "purchase"}]
    org.experiment("hero", VARIANTS, goal={"type": "click", "value": "signup"}, guardrails=guardrails)
    install(context, org.snippet)
    page = context.new_page()
    traffic = Traffic(page)
    page.goto(f"{fixture_site.origin}/shop.html")
    poll(lambda: len(traffic.sent("x")) == 1 and len(traffic.answers) >= 1, page)
    token = traffic.decision("hero")["t"]
    assert traffic.decision("hero")["gr"] == ["purchase"]

    page.locator("#purchase").click()  # dataLayer.push({event: "purchase", ecommerce: {value: 42, ...}})
    poll(lambda: len(traffic.sent("c")) == 1 and len(traffic.answers) >= 2, page)
    assert (traffic.sent("c")[0]["t"], traffic.sent("c")[0]["g"], traffic.sent("c")[0]["v"]) == (token, "purchase", 42)
    poll(lambda: recorded.guardrail(token, "purchase"), page)
    assert not recorded.converted(token)  # not the bandit's conversion


def test_outbox_keeps_failed_sends_and_replays_them_on_the_next_page(
    context: Any, org: Org, fixture_site: FixtureSite, recorded: Recorded
) -> None:
    from playwright.sync_api import expect

    org.experiment("hero", VARIANTS)
    install(context, org.snippet)
    page = context.new_page()
    traffic = Traffic(page)
    page.route("**/p/*/e", lambda route: route.abort("connectionreset"))
    page.goto(f"{fixture_site.origin}/shop.html")
    expect(page.locator("#hero")).to_have_attribute("data-levers-arm", re.compile("A|B"))
    # queued is not enough: an event whose send is still in flight is trusted to that send when the page goes
    poll(lambda: failed_in_outbox(page) == 1, page)
    token = traffic.decision("hero")["t"]
    assert storage(page)["levers_o"][0]["t"] == token
    assert not recorded.exposed(token)

    page.unroute("**/p/*/e")
    failed_sends = len(traffic.events)
    page.goto(f"{fixture_site.origin}/thanks.html")
    # the event that already failed once leaves with the exit beacon and stays in the outbox; the next page
    # replays it (the server counts it once, whichever arrives first)
    poll(lambda: any(e["type"] == "fetch" for e in traffic.events[failed_sends:]), page)
    replay = next(e for e in traffic.events[failed_sends:] if e["type"] == "fetch")
    assert [e["t"] for e in replay["body"]["e"]] == [token]
    poll(lambda: not storage(page).get("levers_o"), page)
    assert recorded.exposed(token)
    assert sum(a["accepted"] for a in traffic.answers) <= 1


def test_back_online_flushes_and_hidden_page_sends_a_text_plain_beacon(
    context: Any, org: Org, fixture_site: FixtureSite, recorded: Recorded
) -> None:
    from playwright.sync_api import expect

    org.experiment("hero", VARIANTS)
    install(context, org.snippet)
    page = context.new_page()
    traffic = Traffic(page)
    page.goto(f"{fixture_site.origin}/shop.html")
    expect(page.locator("#hero")).to_have_attribute("data-levers-arm", re.compile("A|B"))
    poll(lambda: len(traffic.answers) == 1, page)

    context.set_offline(True)
    page.locator("#signup").click()
    # the outbox holds the event from the start; wait until its send has failed (marked "f"), else the
    # "online" flush would skip it as still in flight
    poll(lambda: failed_in_outbox(page) == 1, page)
    context.set_offline(False)  # the "online" event flushes the outbox
    poll(lambda: len(traffic.answers) == 2, page)
    assert recorded.converted(traffic.decision("hero")["t"])

    # a send that fails, then the page is hidden: the outbox leaves as a beacon (text/plain, never on unload)
    page.route("**/p/*/e", lambda route: route.abort("connectionreset"), times=1)
    page.evaluate("levers('convert', 'other')")
    # hidden while the fetch is still in flight, the tag trusts that keepalive request and sends no beacon
    poll(lambda: failed_in_outbox(page) == 1, page)
    page.evaluate(
        "Object.defineProperty(document, 'visibilityState', {value: 'hidden', configurable: true});"
        "document.dispatchEvent(new Event('visibilitychange'))"
    )
    poll(lambda: any(e["type"] == "ping" for e in traffic.events), page)
    beacon = [e for e in traffic.events if e["type"] == "ping"][-1]
    assert beacon["headers"]["content-type"].startswith("text/plain")
    assert [e["g"] for e in beacon["body"]["e"]] == ["other"]


def test_qa_force_records_nothing_and_debug_logs(context: Any, org: Org, fixture_site: FixtureSite) -> None:
    from playwright.sync_api import expect

    org.experiment("hero", VARIANTS)
    install(context, org.snippet)
    page = context.new_page()
    logs: list[str] = []
    page.on("console", lambda message: logs.append(message.text))
    traffic = Traffic(page)
    page.goto(f"{fixture_site.origin}/shop.html?levers_force=hero:B&levers_debug=1")
    expect(page.locator("#hero")).to_have_text("Variant B wording")
    expect(page.locator("#hero")).to_have_attribute("data-levers-arm", "B")
    page.locator("#signup").click()
    page.locator("#convert").click()
    settle(page)
    assert traffic.decision("hero")["r"] == "forced" and traffic.decision("hero")["t"] == ""
    assert traffic.events == []
    assert "levers_t" not in storage(page)
    assert any(line.startswith("[levers] decisions") and "hero" in line for line in logs), logs


@pytest.mark.parametrize("who", ["webdriver", "crawler"])
def test_bots_see_control_and_are_not_counted(browser: Any, org: Org, fixture_site: FixtureSite, who: str) -> None:
    from playwright.sync_api import expect

    org.experiment("hero", VARIANTS)
    googlebot = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
    context = browser.new_context(user_agent=googlebot if who == "crawler" else None)
    try:
        # headless chromium sets navigator.webdriver: the default config must filter it; the crawler case
        # opts automation in, and its user agent alone must be enough
        install(context, org.snippet, allow_automation=who == "crawler")
        page = context.new_page()
        traffic = Traffic(page)
        page.goto(f"{fixture_site.origin}/shop.html")
        hero = page.locator("#hero")
        expect(hero).to_have_attribute("data-levers-shown", "")
        expect(hero).to_have_text("Welcome to the shop")
        page.locator("#signup").click()
        settle(page)
        assert traffic.decides == [] and traffic.events == []
        assert visitor_cookie(context) is None
        assert json.dumps(storage(page)) == "{}"
    finally:
        context.close()
