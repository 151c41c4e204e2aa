"""the gtm community templates run in the simulator's sandbox: setup (queue, consent forwarding, pinned script
injection) and conversion (levers('convert', goal, {value, eid}) from data layer variables)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.conftest import FixtureSite, Levers
from tests.e2e.tag_support import Org, Recorded, Traffic, install, poll, settle, template_tag

pytestmark = pytest.mark.e2e

VARIANTS = [("A", {"text": "Variant A wording"}), ("B", {"text": "Variant B wording"})]


@pytest.fixture
def org(levers: Levers, fixture_site: FixtureSite) -> Iterator[Org]:
    org = Org(levers, fixture_site.origin)
    yield org
    org.client.close()


def test_setup_and_conversion_templates(context: Any, org: Org, levers: Levers, fixture_site: FixtureSite) -> None:
    from playwright.sync_api import expect

    org.experiment("hero", VARIANTS, goal={"type": "event", "value": "order"})
    key = org.site["public_key"]
    setup = template_tag(levers, key, "setup", "init", {"consent": "required", "forwardConsent": True})
    conversion = template_tag(
        levers,
        key,
        "conversion",
        "event:purchase",
        {"goal": "order", "value": "{{dlv.ecommerce.value}}", "eid": "{{dlv.ecommerce.transaction_id}}"},
    )
    # the tag is told to ignore the data layer's consent commands: only the template's forwarding can grant
    install(context, "", tags=[setup, conversion], config={"consent": "required", "consentKey": "not_forwarded"})
    page = context.new_page()
    traffic = Traffic(page)
    page.goto(f"{fixture_site.origin}/consent.html")
    hero = page.locator("#hero")
    expect(hero).to_have_attribute("data-levers-shown", "")
    assert traffic.decides == []
    assert page.evaluate("window.__gtmSim.fired") == ["Levers setup@init", "Levers setup:success"]

    page.locator("#accept").click()  # gtag consent update → the template's addConsentListener → levers('consent')
    expect(hero).to_have_attribute("data-levers-arm", re.compile("A|B"))
    poll(lambda: len(traffic.answers) == 1, page)

    page.evaluate("dataLayer.push({event: 'purchase', ecommerce: {value: 42, transaction_id: 'T-7'}})")
    poll(lambda: len(traffic.sent("c")) == 1 and len(traffic.answers) == 2, page)
    conversion_event = traffic.sent("c")[0]
    assert (conversion_event["g"], conversion_event["v"], conversion_event["d"]) == ("order", 42, "T-7")
    recorded = Recorded(levers)
    assert recorded.converted(traffic.decision("hero")["t"])
    recorded.close()


def test_setup_template_refuses_a_url_outside_its_permission(
    context: Any, org: Org, levers: Levers, fixture_site: FixtureSite
) -> None:
    from playwright.sync_api import expect

    org.experiment("hero", VARIANTS)
    setup = template_tag(levers, org.site["public_key"], "setup", "init", {"consent": "granted"})
    setup["code"] = setup["code"].replace(f"/t/{org.site['public_key']}.js", "/t/site_other.js")
    install(context, "", tags=[setup])
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    traffic = Traffic(page)
    page.goto(f"{fixture_site.origin}/shop.html")
    expect(page.locator("#hero")).to_be_visible(timeout=4000)  # the css failsafe: the tag never loaded
    assert traffic.decides == []
    assert any("inject_script does not allow" in e for e in errors)


@pytest.mark.parametrize("forward", [None, True], ids=["default", "forwarding"])
def test_setup_template_on_a_site_without_consent_mode(
    context: Any, org: Org, levers: Levers, fixture_site: FixtureSite, forward: bool | None
) -> None:
    """gtm counts a consent type nobody set as granted: forwarding it would turn levers on before any consent,
    so the template forwards nothing unless asked to (and its help says why)."""
    from playwright.sync_api import expect

    org.experiment("hero", VARIANTS)
    data = {} if forward is None else {"forwardConsent": forward}
    setup = template_tag(levers, org.site["public_key"], "setup", "init", data)
    assert setup["data"]["consent"] == "required"
    # shop.html sends no gtag('consent', ...) commands; the tag reads none from the data layer either way
    install(context, "", tags=[setup], config={"consent": "required", "consentKey": "not_forwarded"})
    page = context.new_page()
    traffic = Traffic(page)
    page.goto(f"{fixture_site.origin}/shop.html")
    hero = page.locator("#hero")
    expect(hero).to_have_attribute("data-levers-shown", "")
    assert page.evaluate("window.__gtmSim.fired") == ["Levers setup@init", "Levers setup:success"]
    if forward:
        expect(hero).to_have_attribute("data-levers-arm", re.compile("A|B"))
        assert len(traffic.decides) == 1
        return
    settle(page)
    assert traffic.decides == []  # the control, nothing stored, nothing sent
    page.evaluate("levers('consent', true)")  # the site's own banner says yes
    expect(hero).to_have_attribute("data-levers-arm", re.compile("A|B"))
    poll(lambda: len(traffic.answers) == 1, page)
