"""pure parts of the tag's server side: visitor attributes for targeting, goals, gtm templates."""

from __future__ import annotations

import json
import re

import pytest

from app.domain.tag.goals import goal_accepts, goal_for_tag, validate_goal
from app.domain.tag.schemas import DecideRequest
from app.domain.tag.services import device_of, visitor_attributes
from app.domain.tag.templates import TEMPLATES, parse_template, render_template, sections
from app.lib.errors import InvalidInputError

IPHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148"
IPAD = "Mozilla/5.0 (iPad; CPU OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148"
ANDROID_PHONE = "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 Chrome/120.0 Mobile Safari/537.36"
ANDROID_TABLET = "Mozilla/5.0 (Linux; Android 14; SM-X710) AppleWebKit/537.36 Chrome/120.0 Safari/537.36"
DESKTOP = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/120.0 Safari/537.36"


@pytest.mark.parametrize(
    ("agent", "device"),
    [
        (IPHONE, "mobile"),
        (IPAD, "tablet"),
        (ANDROID_PHONE, "mobile"),
        (ANDROID_TABLET, "tablet"),
        (DESKTOP, "desktop"),
        ("", "desktop"),
    ],
)
def test_device_from_user_agent(agent: str, device: str) -> None:
    assert device_of(agent) == device


def test_visitor_attributes_standard_keys_win_over_custom_ones() -> None:
    body = DecideRequest(
        v="v1",
        x=["hero"],
        u="https://shop.example/pricing?utm_source=news&utm_campaign=spring&x=1",
        r="https://www.google.com/",
        l="de-CH",
        a={"plan": "pro", "visits": 3, "url": "spoofed", "country": "spoofed"},
    )
    assert visitor_attributes(body, IPHONE) == {
        "plan": "pro",
        "visits": 3,
        "url": "https://shop.example/pricing?utm_source=news&utm_campaign=spring&x=1",
        "path": "/pricing",
        "referrer": "https://www.google.com/",
        "utm_source": "news",
        "utm_medium": "",
        "utm_campaign": "spring",
        "utm_term": "",
        "utm_content": "",
        "device": "mobile",
        "language": "de-ch",
    }


@pytest.mark.parametrize(
    ("goal", "normalised"),
    [
        ({}, {}),
        ({"type": "click", "value": "signup"}, {"type": "click", "value": "signup"}),
        ({"type": "event", "value": "purchase"}, {"type": "event", "value": "purchase"}),
        ({"type": "url", "value": "/thanks"}, {"type": "url", "value": "/thanks", "match": "contains"}),
        (
            {"type": "url", "value": "^/t/[0-9]+$", "match": "regex"},
            {"type": "url", "value": "^/t/[0-9]+$", "match": "regex"},
        ),
        # the dashboard form's spelling (app/domain/experiments/forms.py)
        ({"type": "click", "selector": "#checkout"}, {"type": "click", "value": "#checkout", "selector": "#checkout"}),
        ({"type": "url", "url": "/thank-you"}, {"type": "url", "value": "/thank-you", "match": "contains"}),
        ({"type": "event", "event": "purchase"}, {"type": "event", "value": "purchase"}),
        ({"type": "event"}, {}),
    ],
)
def test_valid_goals_are_normalised(goal: dict[str, str], normalised: dict[str, str]) -> None:
    assert validate_goal(goal) == normalised


@pytest.mark.parametrize(
    ("goal", "field"),
    [
        ({"type": "scroll", "value": "x"}, "goal.type"),
        ({"type": "click"}, "goal.value"),
        ({"type": "click", "value": " "}, "goal.value"),
        ({"type": "url", "url": ""}, "goal.url"),
        ({"type": "click", "value": "x", "match": "exact"}, "goal.match"),
        ({"type": "url", "value": "x", "match": "fuzzy"}, "goal.match"),
        ({"type": "url", "value": "(", "match": "regex"}, "goal.value"),
        ({"type": "click", "value": "x", "colour": "red"}, "goal.colour"),
    ],
    ids=[
        "unknown-type",
        "no-value",
        "blank-value",
        "empty-url",
        "match-on-click",
        "unknown-match",
        "bad-regex",
        "unknown-field",
    ],
)
def test_invalid_goals_name_the_field(goal: dict[str, str], field: str) -> None:
    with pytest.raises(InvalidInputError) as error:
        validate_goal(goal)
    assert error.value.field == field


def test_goal_matching() -> None:
    assert goal_accepts({}, "anything")
    assert goal_accepts({"type": "click", "value": "signup"}, "signup")
    assert not goal_accepts({"type": "click", "value": "signup"}, "purchase")
    assert goal_accepts({"type": "click", "selector": "#checkout"}, "#checkout")
    assert goal_for_tag({"type": "nonsense"}) == {}  # a broken stored goal degrades to "any conversion"


@pytest.mark.parametrize("kind", sorted(TEMPLATES))
def test_gtm_templates_are_well_formed_and_pin_the_tag_url(kind: str) -> None:
    text = render_template(TEMPLATES[kind], "https://levers.acme.io", "site_abc")
    parts = sections(text)
    assert list(parts)[:5] == [
        "TERMS_OF_SERVICE",
        "INFO",
        "TEMPLATE_PARAMETERS",
        "SANDBOXED_JS_FOR_WEB_TEMPLATE",
        "WEB_PERMISSIONS",
    ]
    for name in ("INFO", "TEMPLATE_PARAMETERS", "WEB_PERMISSIONS"):
        json.loads(parts[name])
    template = parse_template(text)
    assert template["info"]["type"] == "TAG" and template["info"]["containerContexts"] == ["WEB"]
    assert "access_globals" in template["permissions"]
    required = set(re.findall(r"require\('(\w+)'\)", template["code"]))
    permission_for = {
        "injectScript": "inject_script",
        "isConsentGranted": "access_consent",
        "addConsentListener": "access_consent",
    }
    for api in required:
        if api in permission_for:
            assert permission_for[api] in template["permissions"], api
    if kind == "setup.tpl":
        assert template["urls"] == ["https://levers.acme.io/t/site_abc.js"]
        assert "'https://levers.acme.io/t/site_abc.js'" in template["code"]
    assert "levers.example.com" not in text and "site_EXAMPLE" not in text


def test_language_left_to_accept_language_when_the_page_sends_none() -> None:
    assert "language" not in visitor_attributes(DecideRequest(v="v1", x=[]), DESKTOP)
