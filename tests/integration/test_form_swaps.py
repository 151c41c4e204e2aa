"""the experiment and gate forms swapped in place by htmx: each answer is the part htmx swaps, a plain post (no
javascript) still gets the whole page, and every error leads with the name of its field."""

from __future__ import annotations

import re
from typing import Any

from tests.integration.conftest import Tenant
from tests.integration.pages_support import PageSession

FORM = {
    "name": "Hero test",
    "arm_count": "2",
    "control_index": "0",
    "arm-0-name": "Blue",
    "arm-0-text": "Start now",
    "arm-1-name": "Green",
    "arm-1-text": "Go",
    "goal_type": "event",
    "strategy": "maximise",
    "reward_mode": "conversion",
    "traffic_percent": "100",
    "prob_best": "95",
    "max_expected_loss": "0.5",
    "min_trials_per_arm": "100",
    "practical_difference": "2",
}


async def htmx_post(page: PageSession, path: str, form: dict[str, str], target: str) -> Any:
    """what htmx sends: the form's fields, hx-request, and the id of the element it will swap."""
    headers = {**page.csrf, "hx-request": "true", "hx-target": target, "accept": "text/html"}
    return await page.client.post(path, data=form, headers=headers, follow_redirects=False)


def tag(html: str, element_id: str) -> str:
    match = re.search(rf'<[a-z]+ id="{re.escape(element_id)}"[^>]*>', html)
    assert match, f"no element #{element_id}"
    return match.group(0)


async def test_adding_and_removing_an_arm_over_htmx_answers_only_the_arms(tenant: Tenant) -> None:
    page = await PageSession(tenant.client).login(tenant.email)
    added = await htmx_post(page, "/experiments", {**FORM, "add_arm": "1"}, "arms")
    assert added.status_code == 200
    html = added.text
    # only the arms section, with the count it now has and what was typed kept
    assert re.match(r'\s*<section class="card"[^>]* id="arms"', html)
    assert "<html" not in html and "<form" not in html and 'id="name"' not in html
    assert '<input type="hidden" name="arm_count" value="3">' in html
    assert 'value="Start now"' in html and 'value="Go"' in html
    assert "autofocus" in tag(html, "arm-2-name") and html.count("autofocus") == 1
    # the buttons ask htmx to swap the arms again
    assert html.count('hx-target="#arms"') == 4  # three remove buttons and "add an arm"

    three = {**FORM, "arm_count": "3", "arm-2-name": "Red", "control_index": "2"}
    removed = await htmx_post(page, "/experiments", {**three, "remove_arm": "0"}, "arms")
    assert removed.status_code == 200 and "<html" not in removed.text
    assert 'name="arm_count" value="2"' in removed.text and "Remove arm" not in removed.text
    # the arm now in the removed one's place takes focus; the control moved with its arm
    first = tag(removed.text, "arm-0-name")
    assert 'value="Green"' in first and "autofocus" in first
    assert 'name="control_index" value="1" checked' in removed.text
    assert (await tenant.get("/api/v1/experiments", 200)).json() == []


async def test_without_javascript_adding_an_arm_answers_the_whole_page(tenant: Tenant) -> None:
    page = await PageSession(tenant.client).login(tenant.email)
    added = await page.post("/experiments", {**FORM, "add_arm": "1"})
    assert added.status_code == 200 and "<html" in added.text and 'id="experiment-form"' in added.text
    # the browser focuses (and scrolls to) the new arm when the page loads
    assert "autofocus" in tag(added.text, "arm-2-name")
    # the page a browser without javascript gets still posts the form and its buttons to the same address
    assert '<form method="post" action="/experiments" hx-post="/experiments"' in added.text
    assert 'name="add_arm" value="1" formnovalidate' in added.text


async def test_a_bad_value_over_htmx_answers_the_form_with_its_field_named(tenant: Tenant) -> None:
    page = await PageSession(tenant.client).login(tenant.email)
    # bad input: 150 % of visitors, and a whole number of visitors written as a word
    bad = {**FORM, "traffic_percent": "150", "min_trials_per_arm": "lots"}
    answer = await htmx_post(page, "/experiments", bad, "experiment-form")
    assert answer.status_code == 422 and answer.headers["content-type"].startswith("text/html")
    html = answer.text
    assert re.match(r'\s*<div id="experiment-form"', html) and "<html" not in html
    field = tag(html, "traffic_percent")
    assert 'aria-invalid="true"' in field and 'aria-describedby="traffic_percent-error traffic-hint"' in field
    assert (
        '<p class="error" id="traffic_percent-error">Visitors in the experiment: Enter a number between 0 and 100.'
        in html
    )
    assert 'id="min_trials_per_arm-error">Visitors per arm before any verdict: Enter a whole number' in html
    # the summary at the top links to each field by its id
    assert '<a href="#traffic_percent">Visitors in the experiment:' in html
    assert '<a href="#min_trials_per_arm">Visitors per arm before any verdict:' in html
    assert 'value="Start now"' in html and 'value="Hero test"' in html
    assert (await tenant.get("/api/v1/experiments", 200)).json() == []

    # an arm's error names the arm; a group's error links to its heading
    twins = await htmx_post(page, "/experiments", {**FORM, "arm-1-name": "Blue"}, "experiment-form")
    assert 'id="arm-1-name-error">Arm 2 name: Another arm already has this name.' in twins.text
    lonely = {**FORM, "arm_count": "1", "strategy": "yolo"}
    answer = await htmx_post(page, "/experiments", lonely, "experiment-form")
    assert '<a href="#arms-heading">Arms: An experiment needs at least two arms.' in answer.text
    assert '<a href="#strategy">How visitors are shared: Choose how visitors are shared' in answer.text


async def test_without_javascript_a_bad_value_answers_the_whole_page_with_its_field_named(tenant: Tenant) -> None:
    page = await PageSession(tenant.client).login(tenant.email)
    answer = await page.post("/experiments", {**FORM, "prob_best": "40"})  # bad input: not above 50 %
    assert answer.status_code == 422 and "<html" in answer.text
    assert 'id="prob_best-error">Probability to be best: Enter a percentage above 50' in answer.text
    assert 'aria-invalid="true" aria-describedby="prob_best-error"' in tag(answer.text, "prob_best")


async def test_a_saved_form_sends_htmx_to_the_experiment_and_a_plain_post_is_redirected(tenant: Tenant) -> None:
    page = await PageSession(tenant.client).login(tenant.email)
    saved = await htmx_post(page, "/experiments", FORM, "experiment-form")
    assert saved.status_code == 200 and "location" not in saved.headers
    created = (await tenant.get("/api/v1/experiments", 200)).json()[0]
    assert saved.headers["hx-redirect"] == f"/experiments/{created['id']}"

    plain = await page.post("/experiments", {**FORM, "name": "second"})
    assert plain.status_code in (302, 303) and "hx-redirect" not in plain.headers


async def test_the_edit_form_swaps_the_same_way(tenant: Tenant) -> None:
    experiment = await tenant.experiment(arms=2, status="draft")
    page = await PageSession(tenant.client).login(tenant.email)
    path = f"/experiments/{experiment['id']}/edit"
    shown = (await page.get(path)).text
    assert f'hx-post="{path}" hx-target="#experiment-form"' in shown and f'hx-post="{path}" hx-target="#arms"' in shown
    added = await htmx_post(page, path, {**FORM, "add_arm": "1"}, "arms")
    assert added.status_code == 200 and re.match(r'\s*<section class="card"[^>]* id="arms"', added.text)
    assert "autofocus" in tag(added.text, "arm-2-name")
    bad = await htmx_post(page, path, {**FORM, "reward_max": "0"}, "experiment-form")  # bad input: no reward at all
    assert bad.status_code == 422 and re.match(r'\s*<div id="experiment-form"', bad.text)
    assert 'id="reward_max-error">Largest reward: Enter a number above 0' in bad.text
    saved = await htmx_post(page, path, {**FORM, "name": "renamed"}, "experiment-form")
    assert saved.headers["hx-redirect"] == f"/experiments/{experiment['id']}"
    assert (await tenant.get(f"/api/v1/experiments/{experiment['id']}", 200)).json()["name"] == "renamed"


async def test_the_gate_form_names_the_bad_field_over_htmx_and_without(tenant: Tenant) -> None:
    experiment = await tenant.experiment(arms=2)
    page = await PageSession(tenant.client).login(tenant.email)
    shown = (await page.get(f"/gates/new?experiment_id={experiment['id']}")).text
    assert 'hx-post="/gates" hx-target="#gate-form"' in shown and re.search(r"levers-forms\.[0-9a-f]{12}\.js", shown)
    form = {"experiment_id": experiment["id"], "name": "half", "enabled": "1", "rollout_percent": "150"}

    # bad input: a rollout of 150 %
    answer = await htmx_post(page, "/gates", form, "gate-form")
    assert answer.status_code == 422 and re.match(r'\s*<div id="gate-form"', answer.text)
    assert "<html" not in answer.text
    field = tag(answer.text, "rollout_percent")
    assert 'aria-invalid="true" aria-describedby="rollout_percent-error rollout-hint"' in field
    message = "Rollout percentage: enter a number between 0 and 100"
    assert f'<p class="error" id="rollout_percent-error">{message}</p>' in answer.text
    assert f'<a href="#rollout_percent">{message}</a>' in answer.text

    # the same without javascript, with a rollout that is not a number
    plain = await page.post("/gates", {**form, "rollout_percent": "half"})
    assert plain.status_code == 422 and "<html" in plain.text and message in plain.text

    # a bad rule names the rules box and its line; the schedule's error links to its first field
    rules = await htmx_post(page, "/gates", {**form, "rollout_percent": "50", "rules": "country in DE"}, "gate-form")
    assert 'id="rules-error">Targeting rules: line 1: write' in rules.text
    schedule = {**form, "rollout_percent": "50", "schedule_on": "1", "timezone": "Mars/Olympus"}
    answer = await htmx_post(page, "/gates", schedule, "gate-form")
    assert answer.status_code == 422 and '<a href="#timezone">Schedule:' in answer.text

    saved = await htmx_post(page, "/gates", {**form, "rollout_percent": "50"}, "gate-form")
    gate = (await tenant.get(f"/api/v1/gates?experiment_id={experiment['id']}", 200)).json()[0]
    assert saved.status_code == 200 and saved.headers["hx-redirect"] == f"/gates/{gate['id']}?saved=1"
    edited = await htmx_post(page, f"/gates/{gate['id']}", {**form, "rollout_percent": "-1"}, "gate-form")
    assert edited.status_code == 422 and message in edited.text


async def test_a_form_posted_after_the_session_ran_out_sends_the_window_to_log_in(tenant: Tenant) -> None:
    page = PageSession(tenant.client)
    tenant.client.cookies.clear()
    await tenant.client.get("/login")  # a csrf cookie, no session
    headers = {**page.csrf, "hx-request": "true", "hx-target": "experiment-form", "accept": "text/html"}
    headers["hx-current-url"] = "http://testserver.local/experiments/new"
    answer = await tenant.client.post("/experiments", data=FORM, headers=headers, follow_redirects=False)
    # not a redirect, which htmx would follow and swap the login page into the form
    assert answer.status_code == 200 and answer.headers["hx-redirect"] == "/login?next=/experiments/new"
    browser = {**page.csrf, "accept": "text/html"}  # a form posted without javascript
    plain = await tenant.client.post("/experiments", data=FORM, headers=browser, follow_redirects=False)
    assert plain.status_code in (302, 303) and plain.headers["location"] == "/login?next=/experiments"
