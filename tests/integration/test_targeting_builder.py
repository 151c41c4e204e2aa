"""the experiment page's targeting builder (rules from pickers, errors in plain words naming the field, the
live url test against app.targeting), its summary, and the policy chosen in marketer terms."""

from __future__ import annotations

from typing import Any

from tests.integration.conftest import Tenant
from tests.integration.pages_support import PageSession
from tests.integration.test_experiment_lifecycle_pages import experiment_with_arms
from tests.integration.test_fixed_allocation_pages import FORM

RULE = {
    "rule_count": "1",
    "rule-0-attribute": "path",
    "rule-0-operator": "starts_with",
    "rule-0-value": "/checkout",
    "rule-0-action": "exclude",
    "rollout_percent": "100",
    "timezone": "UTC",
}


async def select_reason(tenant: Tenant, experiment_id: str, **metadata: Any) -> str:
    body = {"experiment_id": experiment_id, "context": {"id": "visitor-7", "metadata": metadata}}
    response = await tenant.post("/api/v1/select", body, 200)
    return str(response.json()["reason"])


async def test_bad_rules_are_named_in_plain_words_and_nothing_is_saved(tenant: Tenant) -> None:
    experiment = await experiment_with_arms(tenant, ["A", "B"], status="running")
    page = await PageSession(tenant.client).login(tenant.email)
    path = f"/experiments/{experiment['id']}/targeting"
    cases = [
        ({"rule-0-value": ""}, "rule-0-value", "Rule 1: enter the value to compare with."),
        ({"rule-0-operator": "regex", "rule-0-value": "(unclosed"}, "rule-0-value", "Rule 1: the pattern is not valid"),
        ({"rule-0-operator": "gt", "rule-0-value": "many"}, "rule-0-value", "compares numbers; enter a number"),
        ({"rule-0-attribute": "custom", "rule-0-custom": ""}, "rule-0-custom", "Rule 1: name the attribute"),
        ({"rule-0-attribute": "custom", "rule-0-custom": "bad name!"}, "rule-0-custom", "letters, digits"),
        ({"rule-0-operator": "semver_gte", "rule-0-value": "one"}, "rule-0-value", "a version such as 1.4.0"),
        ({"rule-0-operator": "sounds_like"}, "rule-0-operator", "Rule 1: choose how to compare."),
        ({"rule-0-attribute": "shoe_size"}, "rule-0-attribute", "Rule 1: choose what to look at."),
        ({"rule-0-action": "serve-9"}, "rule-0-action", "Rule 1: choose what these visitors get."),
        ({"rollout_percent": "150"}, "rollout_percent", "Rollout: enter a percentage between 0 and 100."),
        ({"schedule_on": "1", "timezone": "Mars/Olympus"}, "schedule", "Schedule (time zone)"),
    ]
    for change, field, message in cases:
        response = await page.post(path, {**RULE, **change})
        assert response.status_code == 422, change
        assert message in response.text.replace("&#34;", '"').replace("&#39;", "'"), (change, message)
        assert f'id="{field}-error"' in response.text, change
        assert f'href="#{field}"' in response.text, change  # the error summary links to the field
    assert (await tenant.get("/api/v1/gates", 200)).json() == []


async def test_rules_from_the_builder_reach_the_hot_path_and_read_back(tenant: Tenant) -> None:
    experiment = await experiment_with_arms(tenant, ["Control", "Big button"], status="running")
    page = await PageSession(tenant.client).login(tenant.email)
    path = f"/experiments/{experiment['id']}"
    # add a row, then a second; remove the first: the builder keeps the rest in place
    added = await page.post(f"{path}/targeting", {**RULE, "add_rule": "1"})
    assert added.status_code == 200 and 'id="rule-1-attribute"' in added.text
    form = {
        **RULE,
        "rule_count": "2",
        "rule-1-attribute": "utm_source",
        "rule-1-operator": "in",
        "rule-1-value": "news, Mail",
        "rule-1-ignore_case": "1",
        "rule-1-action": "serve-1",
        "rollout_percent": "80",
    }
    saved = await page.post(f"{path}/targeting", form)
    assert saved.status_code in (302, 303), saved.text
    gate = (await tenant.get("/api/v1/gates", 200)).json()[0]
    assert gate["rollout_percent"] == 80 and [r["action"] for r in gate["rules"]] == ["exclude", "serve"]
    assert gate["rules"][1]["condition"] == {
        "attribute": "utm_source",
        "operator": "in",
        "value": ["news", "Mail"],
        "ignore_case": True,
    }
    assert await select_reason(tenant, experiment["id"], path="/checkout/pay") == "rule:r1"
    assert await select_reason(tenant, experiment["id"], path="/", utm_source="mail") == "rule:r2"

    html = (await page.get(f"{path}?done=targeting")).text
    assert "Targeting saved" in html
    assert "Visitors whose page path starts with “/checkout”: are left out (they see the default)." in html
    assert (
        "Visitors whose campaign source (utm_source) is one of “news”, “Mail” (any case): always see Big button."
        in html
    )
    assert "of those no rule catches, 80% get the experiment and the rest see Control" in html
    assert "Always on: no schedule." in html
    # the builder reads the saved rules back into its pickers
    assert 'name="rule-1-value" value="news, Mail"' in html
    assert '<option value="serve-1" selected>always see Big button</option>' in html

    removed = await page.post(f"{path}/targeting", {**form, "remove_rule": "0"})
    assert 'id="rule-1-attribute"' not in removed.text and 'value="news, Mail"' in removed.text
    await page.post(f"{path}/targeting/remove", {})
    assert (await tenant.get("/api/v1/gates", 200)).json() == []
    assert "Everyone: no targeting rules." in (await page.get(path)).text


async def test_the_live_url_test_uses_the_unsaved_rules(tenant: Tenant) -> None:
    experiment = await experiment_with_arms(tenant, ["Control", "B"], status="running")
    page = await PageSession(tenant.client).login(tenant.email)
    test = f"/experiments/{experiment['id']}/targeting/test"
    out = await page.post(test, {**RULE, "test_url": "https://shop.example/checkout?step=2"})
    assert out.status_code == 200 and 'data-test="out"' in out.text
    assert "matches — Visitors whose page path starts with “/checkout”" in out.text
    assert "This visitor always sees Control." in out.text
    inside = await page.post(test, {**RULE, "test_url": "https://shop.example/pricing"})
    assert 'data-test="in"' in inside.text and "No rule matches: this visitor is in the experiment." in inside.text
    by_campaign = {
        **RULE,
        "rule-0-attribute": "utm_campaign",
        "rule-0-operator": "eq",
        "rule-0-value": "spring",
        "rule-0-action": "serve-1",
    }
    campaign = await page.post(test, {**by_campaign, "test_url": "/landing?utm_campaign=spring"})
    assert "This visitor always sees B." in campaign.text
    broken = await page.post(test, {**RULE, "rule-0-value": "", "test_url": "/checkout"})
    assert (
        broken.status_code == 422 and 'data-test="invalid"' in broken.text and "Rule 1: enter the value" in broken.text
    )
    empty = await page.post(test, {**RULE, "test_url": ""})
    assert 'data-test="none"' in empty.text
    assert (await tenant.get("/api/v1/gates", 200)).json() == []  # testing saves nothing


async def test_the_policy_is_chosen_in_plain_words(tenant: Tenant) -> None:
    page = await PageSession(tenant.client).login(tenant.email)
    new = (await page.get("/experiments/new")).text
    for label in ("Maximise conversions (recommended)", "Explore evenly first", "Fixed split (classic A/B)"):
        assert label in new
    # the technical names sit under the advanced disclosure, after the plain choices
    advanced = new.index("<summary>Advanced: choose the policy by its technical name</summary>")
    assert new.index("kl_ucb_plus") > advanced and new.index("Explore evenly first") < advanced
    assert 'name="strategy" value="maximise" aria-describedby="strategy-maximise-help" checked' in new

    created: dict[str, dict[str, Any]] = {}
    for strategy in ("maximise", "explore", "fixed"):
        form = {**FORM, "name": f"by {strategy}", "strategy": strategy, "reward_mode": "conversion"}
        response = await page.post("/experiments", form)
        assert response.status_code in (302, 303), response.text
        experiment_id = response.headers["location"].rsplit("/", 1)[1]
        created[strategy] = (await tenant.get(f"/api/v1/experiments/{experiment_id}", 200)).json()
    assert created["maximise"]["protocol"] == "stratified_ts" and created["maximise"]["allocation"] == "bandit"
    assert created["explore"]["protocol"] == "epsilon_greedy" and created["explore"]["protocol_params"]["epsilon"] == 1
    assert created["fixed"]["allocation"] == "fixed" and created["fixed"]["weights"] == [0.5, 0.5]
    detail = (await page.get(f"/experiments/{created['explore']['id']}")).text
    assert '<span id="strategy-label">Explore evenly first</span>' in detail
    edit = (await page.get(f"/experiments/{created['explore']['id']}/edit")).text
    assert 'value="explore" aria-describedby="strategy-explore-help" checked' in edit

    advanced_form = {**FORM, "name": "tech", "strategy": "advanced", "protocol": "kl_ucb_plus"}
    response = await page.post("/experiments", advanced_form)
    experiment_id = response.headers["location"].rsplit("/", 1)[1]
    assert (await tenant.get(f"/api/v1/experiments/{experiment_id}", 200)).json()["protocol"] == "kl_ucb_plus"

    bad = await page.post("/experiments", {**FORM, "name": "bad", "strategy": "yolo"})
    assert bad.status_code == 422 and 'id="strategy-error"' in bad.text
    assert "Choose how visitors are shared between the arms." in bad.text
