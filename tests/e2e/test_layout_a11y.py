"""layout behaviours axe can't see, in chromium: the sticky form bar never hides the focused field, a results
table cut by the viewport says it scrolls, the gates table stacks on a phone, nothing overflows at 320 px,
field borders and focus rings reach 3:1 (wcag 1.4.11), and the rate chart ends on the table's rate."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import create_async_engine

from app.db.models import ArmStatsHourly
from tests.conftest import run_isolated
from tests.e2e.accessibility import assert_accessible
from tests.e2e.conftest import Levers
from tests.e2e.dashboard_support import api_token, seed_hourly, sign_up

pytestmark = pytest.mark.e2e

PHONE = {"width": 390, "height": 844}
NARROWEST = {"width": 320, "height": 640}

# the focused element's box and the sticky bar's, in viewport pixels
FOCUS_AND_BAR = """() => {
  const el = document.activeElement;
  const bar = document.querySelector('.sticky-actions');
  const box = r => ({top: r.top, bottom: r.bottom, left: r.left, right: r.right});
  return {
    inForm: !!el && !!el.closest('form.form'),
    inBar: !!el && !!bar && bar.contains(el),
    tag: el ? el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + (el.name ? '[' + el.name + ']' : '') : '',
    el: el ? box(el.getBoundingClientRect()) : null,
    bar: bar ? box(bar.getBoundingClientRect()) : null,
    height: window.innerHeight,
  };
}"""

# wcag relative luminance and contrast of css colours, and the colour behind an element (first opaque ancestor)
CONTRAST = """
const rgb = c => { const m = c.match(/[\\d.]+/g).map(Number);
                   return {r: m[0], g: m[1], b: m[2], a: m.length > 3 ? m[3] : 1}; };
const lin = v => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
const lum = c => 0.2126 * lin(c.r) + 0.7152 * lin(c.g) + 0.0722 * lin(c.b);
const over = (top, bottom) => ({r: top.r * top.a + bottom.r * (1 - top.a), g: top.g * top.a + bottom.g * (1 - top.a),
                                b: top.b * top.a + bottom.b * (1 - top.a), a: 1});
const behind = el => {
  const layers = [];
  for (let node = el; node; node = node.parentElement) {
    const c = rgb(getComputedStyle(node).backgroundColor);
    if (c.a > 0) layers.push(c);
    if (c.a >= 1) break;
  }
  return layers.reduceRight((acc, c) => over(c, acc), {r: 255, g: 255, b: 255, a: 1});
};
const ratio = (a, b) => { const [x, y] = [lum(a), lum(b)].sort((p, q) => q - p); return (x + 0.05) / (y + 0.05); };
"""


def watch_console(page: Any) -> list[str]:
    errors: list[str] = []
    page.on(
        "console",
        lambda m: (
            errors.append(m.text)
            if m.type == "error" and not (m.location or {}).get("url", "").endswith("/favicon.ico")
            else None
        ),
    )
    page.on("pageerror", lambda e: errors.append(str(e)))
    return errors


@pytest.fixture
def account(context: Any, levers: Levers) -> Iterator[tuple[Any, dict[str, str], list[str]]]:
    """a signed-in page, api headers, and the page's console errors (none allowed at the end)."""
    page = context.new_page()
    errors = watch_console(page)
    email = sign_up(page, levers.url)
    yield page, api_token(levers.url, email), errors
    assert errors == []


def experiment(levers: Levers, headers: dict[str, str], arms: list[str], name: str = "Checkout button") -> str:
    with httpx.Client(base_url=levers.url, headers=headers) as client:
        body = {"name": name, "arms": [{"name": n, "payload": {"text": n}} for n in arms]}
        pool = client.post("/api/v1/pools", json=body).json()
        created = client.post(
            "/api/v1/experiments",
            json={"name": name, "pool_id": pool["id"], "reward_mode": "conversion", "status": "draft"},
        )
        assert created.status_code == 201, created.text
        return str(created.json()["id"])


@pytest.mark.parametrize("size", [PHONE, NARROWEST], ids=["390", "320"])
def test_the_sticky_bar_never_hides_the_focused_field(
    account: tuple[Any, dict[str, str], list[str]], levers: Levers, artifacts: Path, size: dict[str, int]
) -> None:
    page, _, _ = account
    page.set_viewport_size(size)
    page.goto(f"{levers.url}/experiments/new")
    page.locator("h1").click()  # tab order starts from here, above the form
    stops, hidden, entered = 0, [], False
    for _ in range(200):
        page.keyboard.press("Tab")
        state = page.evaluate(FOCUS_AND_BAR)
        if not state["inForm"]:
            if entered:
                break
            continue
        entered = True
        stops += 1
        el, bar = state["el"], state["bar"]
        if state["inBar"]:
            continue
        covered = el["bottom"] > bar["top"] and el["top"] < bar["bottom"]
        outside = el["bottom"] <= 0 or el["top"] >= state["height"]
        if covered or outside:
            hidden.append(f"{state['tag']} {el} under bar {bar}")
            page.screenshot(path=str(artifacts / f"sticky-bar-hides-{size['width']}-{stops}.png"))
    assert stops >= 20, f"only {stops} tab stops reached in the form"
    assert hidden == [], "\n".join(hidden)
    page.screenshot(path=str(artifacts / f"layout-sticky-bar-{size['width']}.png"))


def seeded_results(levers: Levers, headers: dict[str, str]) -> str:
    eid = experiment(levers, headers, ["Control", "Free shipping over fifty", "Save 10% today", "Bundle"])
    seed_hourly(levers.settings.database_url, eid, [0.040, 0.052, 0.041, 0.039], days=20)
    return eid


@pytest.mark.parametrize("width", [800, 1000])
def test_a_cut_results_table_says_it_scrolls(
    account: tuple[Any, dict[str, str], list[str]], levers: Levers, artifacts: Path, width: int
) -> None:
    from playwright.sync_api import expect

    page, headers, _ = account
    eid = seeded_results(levers, headers)
    page.set_viewport_size({"width": width, "height": 900})
    page.goto(f"{levers.url}/experiments/{eid}")
    wrap = page.locator(".table-wrap:has(.results-table)")
    expect(wrap).to_be_visible()
    state = wrap.evaluate(
        """w => ({scrolls: w.scrollWidth > w.clientWidth + 1, tabindex: w.getAttribute('tabindex'),
                  role: w.getAttribute('role'), label: w.getAttribute('aria-label') || '',
                  background: getComputedStyle(w).backgroundImage,
                  attachment: getComputedStyle(w).backgroundAttachment,
                  page: document.documentElement.scrollWidth, viewport: window.innerWidth})"""
    )
    assert state["page"] <= state["viewport"], "the page itself must not scroll sideways"
    page.locator(".card:has(.results-table)").screenshot(path=str(artifacts / f"layout-results-table-{width}.png"))
    if not state["scrolls"]:
        return
    # scrollable: a keyboard stop, a named region, and a shadow at the edge that has more columns
    assert state["tabindex"] == "0" and state["role"] == "region" and state["label"], state
    assert state["background"].count("gradient") >= 2 and "local" in state["attachment"], state
    wrap.focus()
    page.keyboard.press("ArrowRight")
    page.keyboard.press("End")
    expect(wrap).not_to_have_js_property("scrollLeft", 0)  # the keys scroll the focused table
    wrap.evaluate("w => { w.scrollLeft = 0; }")
    # and in words, at the table's top left, while it can scroll
    hint = wrap.locator(".scroll-hint")
    expect(hint).to_be_visible()
    expect(hint).to_contain_text("Scroll sideways")
    assert hint.evaluate("h => h.getBoundingClientRect().left") >= wrap.evaluate("w => w.getBoundingClientRect().left")
    assert_accessible(page, f"results at {width} px")


def test_the_gates_table_stacks_on_a_phone(
    account: tuple[Any, dict[str, str], list[str]], levers: Levers, context: Any, artifacts: Path
) -> None:
    page, headers, _ = account
    eid = experiment(levers, headers, ["Blue", "Green"], name="Homepage hero with a long enough name")
    body = {"experiment_id": eid, "name": "Half the visitors from the newsletter campaign", "rollout_percent": 50}
    created = httpx.post(f"{levers.url}/api/v1/gates", headers=headers, json=body)
    assert created.status_code == 201, created.text
    page.set_viewport_size(PHONE)
    page.goto(f"{levers.url}/gates")
    widths = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    assert widths[0] <= widths[1], f"the gates page scrolls sideways: {widths}"
    cells = page.evaluate(
        """() => [...document.querySelectorAll('main table tbody td')].map(td => ({
             label: td.getAttribute('data-label'),
             shown: getComputedStyle(td, '::before').content,
             display: getComputedStyle(td).display}))"""
    )
    headers_text = page.evaluate(
        "() => [...document.querySelectorAll('main table thead th')].map(th => th.textContent.trim())"
    )
    assert cells, "the gate is listed"
    for cell in cells:
        assert cell["label"] and cell["label"] in headers_text, cell
        assert cell["shown"] == json.dumps(cell["label"]), cell
    assert page.locator("main table thead").evaluate("t => getComputedStyle(t).display") == "none"
    page.screenshot(path=str(artifacts / "layout-gates-phone.png"), full_page=True)
    assert_accessible(page, "gates list")


def test_nothing_overflows_at_320_px(
    account: tuple[Any, dict[str, str], list[str]], levers: Levers, artifacts: Path
) -> None:
    page, headers, _ = account
    eid = seeded_results(levers, headers)
    page.set_viewport_size(NARROWEST)
    wide = []
    for name, path in (
        ("new", "/experiments/new"),
        ("edit", f"/experiments/{eid}/edit"),
        ("results", f"/experiments/{eid}"),
        ("list", "/experiments"),
    ):
        page.goto(levers.url + path)
        widths = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
        page.screenshot(path=str(artifacts / f"layout-320-{name}.png"), full_page=True)
        if widths[0] > widths[1]:
            culprits = page.evaluate(
                """() => {
                  // what sticks out of the page itself, not what scrolls inside a scroll region of its own
                  const scrolls = e => { for (let p = e.parentElement; p; p = p.parentElement) {
                    if (['auto', 'scroll'].includes(getComputedStyle(p).overflowX)) return true; } return false; };
                  return [...document.querySelectorAll('main *')].filter(e => e.getBoundingClientRect().right >
                    window.innerWidth + 0.5 && !scrolls(e)).slice(0, 5).map(e => e.tagName + '.' + e.className +
                    (e.id ? '#' + e.id : ''));
                }"""
            )
            wide.append(f"{name}: {widths} {culprits}")
    assert wide == [], "\n".join(wide)


def test_field_edges_and_focus_rings_reach_three_to_one(
    account: tuple[Any, dict[str, str], list[str]], levers: Levers, artifacts: Path
) -> None:
    page, headers, _ = account
    eid = seeded_results(levers, headers)
    page.set_viewport_size({"width": 1280, "height": 900})
    weak: list[str] = []
    checked = {"borders": 0, "rings": 0}
    for path in ("/experiments/new", f"/experiments/{eid}", "/gates/new"):
        page.goto(levers.url + path)
        # every visible text field, select and textarea: its border against the colour outside it and inside it
        borders = page.evaluate(
            "() => {"
            + CONTRAST
            + """
              const fields = [...document.querySelectorAll('input, select, textarea')].filter(el =>
                !['radio', 'checkbox', 'hidden', 'submit', 'button'].includes(el.type) && el.getClientRects().length);
              return fields.map(el => {
                const style = getComputedStyle(el);
                const line = rgb(style.borderTopColor);
                return {what: el.tagName + '#' + el.id, width: parseFloat(style.borderTopWidth),
                        outside: ratio(over(line, behind(el.parentElement)), behind(el.parentElement)),
                        inside: ratio(over(line, behind(el)), behind(el))};
              });
            }"""
        )
        for b in borders:
            checked["borders"] += 1
            if b["width"] < 1 or min(b["outside"], b["inside"]) < 3:
                weak.append(f"{path} border {b}")
        # every tab stop's focus ring (keyboard focus, so :focus-visible applies to buttons too)
        page.locator("body").evaluate("b => b.focus()")
        seen = set()
        for _ in range(120):
            page.keyboard.press("Tab")
            ring = page.evaluate(
                "() => {"
                + CONTRAST
                + """
                  const el = document.activeElement;
                  if (!el || el === document.body) return null;
                  const style = getComputedStyle(el);
                  const key = [el.tagName, el.id, el.className, (el.textContent || '').trim().slice(0, 20),
                               el.name || '', Math.round(el.getBoundingClientRect().top + scrollY)].join(':');
                  return {key, kind: el.tagName.toLowerCase(), type: el.type || '', style: style.outlineStyle,
                          width: parseFloat(style.outlineWidth),
                          contrast: ratio(over(rgb(style.outlineColor), behind(el.parentElement)),
                                          behind(el.parentElement))};
                }"""
            )
            if ring is None or ring["key"] in seen:
                break
            seen.add(ring["key"])
            if ring["kind"] not in ("input", "select", "textarea", "button"):
                continue
            checked["rings"] += 1
            if ring["style"] == "none" or ring["width"] < 2 or ring["contrast"] < 3:
                weak.append(f"{path} focus ring {ring}")
    page.goto(f"{levers.url}/experiments/new")
    page.get_by_label("Name", exact=True).focus()
    page.screenshot(path=str(artifacts / "layout-focus-ring.png"))
    assert checked["borders"] >= 15 and checked["rings"] >= 15, checked
    assert weak == [], "\n".join(weak)


def seed_weekend_skew(database_url: str, experiment_id: str, days: int = 12) -> None:
    """arm 1 gets most visitors at weekends, which convert a fifth as well: the table's period-adjusted rate is
    far from the pooled rate (and from the beta mean the chart used to draw)."""
    start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(days=days)
    rows = []
    for h in range(days * 24):
        at = start + timedelta(hours=h)
        base = 0.01 if at.weekday() >= 5 else 0.05
        share = 0.8 if at.weekday() >= 5 else 0.2
        for arm, (visitors, lift) in enumerate(((round(200 * (1 - share)), 1.0), (round(200 * share), 1.3))):
            conversions = round(visitors * base * lift + (h % 3 == arm))
            rows.append(
                {
                    "experiment_id": experiment_id,
                    "arm_index": arm,
                    "hour": at,
                    "exposures": visitors,
                    "feedbacks": conversions,
                    "reward_sum": float(conversions),
                    "reward_sum_sq": float(conversions),
                }
            )

    async def write() -> None:
        engine = create_async_engine(database_url)
        async with engine.begin() as conn:
            await conn.execute(insert(ArmStatsHourly), rows)
        await engine.dispose()

    run_isolated(lambda: asyncio.run(write()))


def test_the_rate_chart_ends_on_the_table_rate(
    account: tuple[Any, dict[str, str], list[str]], levers: Levers, artifacts: Path
) -> None:
    from playwright.sync_api import expect

    page, headers, _ = account
    eid = experiment(levers, headers, ["Control", "Green"])
    seed_weekend_skew(levers.settings.database_url, eid)
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(f"{levers.url}/experiments/{eid}")
    canvas = page.locator('canvas[data-chart="rate"]')
    expect(canvas).to_have_attribute("data-drawn", "1")
    drawn = canvas.evaluate(
        """c => { const chart = Chart.getChart(c);
                  return {axis: chart.options.scales.y.title.text,
                          lines: chart.data.datasets.filter(d => !d.band)
                                                    .map(d => [d.label, d.data[d.data.length - 1]])}; }"""
    )
    assert drawn["axis"] == "Cumulative conversion rate (%)"
    shown = {
        arm: page.locator(f'tr[data-arm="{arm}"] [data-field="rate"] .v').evaluate("v => v.firstChild.textContent")
        for arm in ("Control", "Green")
    }
    assert {name: f"{last:.2f}%" for name, last in drawn["lines"]} == shown
    expect(page.locator(".results-table thead")).to_contain_text("Cumulative conversion rate")
    expect(page.locator("#chart-rate-title")).to_have_text("Cumulative conversion rate with 95% band")
    page.locator("figure:has(#chart-rate-title)").screenshot(path=str(artifacts / "layout-rate-chart.png"))
