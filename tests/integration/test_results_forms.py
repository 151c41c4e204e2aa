"""editing an experiment from the dashboard: what a started experiment lets change and what it keeps."""

from __future__ import annotations

from tests.integration.conftest import Tenant
from tests.integration.pages_support import PageSession


async def test_edit_keeps_arms_policy_and_reward_once_started(tenant: Tenant) -> None:
    pool = await tenant.post(
        "/api/v1/pools", {"name": "p", "arms": [{"name": "A", "payload": {"text": "Buy"}}, {"name": "B"}]}, 201
    )
    experiment = (
        await tenant.post(
            "/api/v1/experiments",
            {"name": "cta", "pool_id": pool.json()["id"], "reward_mode": "conversion", "goal": {"type": "event"}},
            201,
        )
    ).json()
    assert experiment["status"] == "running"
    page = await PageSession(tenant.client).login(tenant.email)
    shown = await page.get(f"/experiments/{experiment['id']}/edit")
    assert shown.status_code == 200
    assert 'value="Buy"' in shown.text and "Add an arm" not in shown.text and "fixed once started" in shown.text

    form = {
        "name": "cta renamed",
        "arm_count": "3",  # ignored: arms can't be added once started
        "add_arm": "1",
        "control_index": "1",
        "arm-0-name": "A",
        "arm-0-text": "Buy today",
        "arm-1-name": "B",
        "arm-1-class": "big",
        "goal_type": "click",
        "goal_selector": "#buy",
        "protocol": "exp3",
        "reward_mode": "explicit",
        "traffic_percent": "40",
        "exploration_floor": "10",
        "prob_best": "90",
        "max_expected_loss": "1",
        "min_trials_per_arm": "250",
        "practical_difference": "5",
    }
    saved = await page.post(f"/experiments/{experiment['id']}/edit", form)
    assert saved.status_code in (302, 303), saved.text
    after = (await tenant.get(f"/api/v1/experiments/{experiment['id']}", 200)).json()
    assert after["name"] == "cta renamed" and after["traffic_percent"] == 40 and after["control_index"] == 1
    # a conversion experiment created without a policy gets the drift-robust one, and keeps it
    assert after["protocol"] == experiment["protocol"] == "stratified_ts" and after["reward_mode"] == "conversion"
    assert experiment["exploration_floor"] == 0.05 and after["exploration_floor"] == 0.1
    assert after["goal"] == {"type": "click", "selector": "#buy"}
    assert after["decision"] == {
        "prob_best": 0.9,
        "max_expected_loss": 0.01,
        "min_trials_per_arm": 250,
        "practical_difference": 0.05,
        "prior_alpha": 1.0,
        "prior_beta": 1.0,
    }
    arms = (await tenant.get(f"/api/v1/pools/{experiment['pool_id']}", 200)).json()["arms"]
    assert [a["payload"] for a in arms] == [{"text": "Buy today"}, {"class": "big"}]

    bad = await page.post(f"/experiments/{experiment['id']}/edit", {**form, "traffic_percent": "x", "name": ""})
    assert bad.status_code == 422 and 'id="traffic_percent-error"' in bad.text and 'id="name-error"' in bad.text
    assert 'value="Buy today"' in bad.text  # what was typed stays
    bad = await page.post(f"/experiments/{experiment['id']}/edit", {**form, "exploration_floor": "100"})
    assert bad.status_code == 422 and 'id="exploration_floor-error"' in bad.text

    stopped = await page.post(f"/experiments/{experiment['id']}/status", {"action": "stop"})
    assert stopped.status_code in (302, 303)
    done = (await tenant.get(f"/api/v1/experiments/{experiment['id']}", 200)).json()
    assert done["status"] == "completed" and done["winner_index"] is None
    again = await page.post(f"/experiments/{experiment['id']}/status", {"action": "resume"})
    assert again.status_code == 409


async def test_the_largest_reward_is_set_from_the_form(tenant: Tenant) -> None:
    experiment = await tenant.experiment(protocol="gaussian_ts", reward_mode="explicit", goal={"type": "event"})
    page = await PageSession(tenant.client).login(tenant.email)
    shown = await page.get(f"/experiments/{experiment['id']}/edit")
    assert 'id="reward_max" name="reward_max" inputmode="decimal" value="10000"' in shown.text
    form = {
        "name": "revenue",
        "arm-0-name": "arm-0",
        "arm-1-name": "arm-1",
        "control_index": "0",
        "goal_type": "event",
        "traffic_percent": "100",
        "prob_best": "95",
        "max_expected_loss": "0.5",
        "min_trials_per_arm": "100",
        "practical_difference": "2",
    }
    bad = await page.post(f"/experiments/{experiment['id']}/edit", {**form, "reward_max": "0"})
    assert bad.status_code == 422 and 'id="reward_max-error"' in bad.text
    saved = await page.post(f"/experiments/{experiment['id']}/edit", {**form, "reward_max": "250"})
    assert saved.status_code in (302, 303), saved.text
    assert (await tenant.get(f"/api/v1/experiments/{experiment['id']}", 200)).json()["reward_max"] == 250
    detail = await page.get(f"/experiments/{experiment['id']}")
    assert 'id="reward-max">250 ' in detail.text


async def test_guardrails_and_automatic_decisions_are_set_from_the_form(tenant: Tenant) -> None:
    experiment = await tenant.experiment(goal={"type": "event", "event": "checkout"})
    page = await PageSession(tenant.client).login(tenant.email)
    shown = await page.get(f"/experiments/{experiment['id']}/edit")
    assert 'id="guardrail-0-goal"' in shown.text and 'name="auto_ship"' in shown.text
    form = {
        "name": "cta",
        "arm-0-name": "arm-0",
        "arm-1-name": "arm-1",
        "control_index": "0",
        "goal_type": "event",
        "goal_event": "checkout",
        "traffic_percent": "100",
        "prob_best": "95",
        "max_expected_loss": "0.5",
        "min_trials_per_arm": "100",
        "practical_difference": "2",
        "guardrails_form": "1",
        # a blank first row is skipped: the filled rows move up
        "guardrail-0-goal": "",
        "guardrail-0-tolerance": "5",
        "guardrail-1-goal": "bounce",
        "guardrail-1-better": "lower",
        "guardrail-1-tolerance": "10",
        "guardrail-2-goal": "add_to_cart",
        "guardrail-2-better": "higher",
        "guardrail-2-tolerance": "2.5",
        "auto_ship": "on",
        "auto_drop": "on",
    }
    saved = await page.post(f"/experiments/{experiment['id']}/edit", form)
    assert saved.status_code in (302, 303), saved.text
    after = (await tenant.get(f"/api/v1/experiments/{experiment['id']}", 200)).json()
    assert after["guardrails"] == [
        {"goal": "bounce", "better": "lower", "tolerance": 0.1},
        {"goal": "add_to_cart", "better": "higher", "tolerance": 0.025},
    ]
    assert after["auto_ship"] is True and after["auto_drop"] is True
    again = await page.get(f"/experiments/{experiment['id']}/edit")
    shown_row = 'id="guardrail-0-goal" name="guardrail-0-goal" maxlength="200" placeholder="bounce" value="bounce"'
    assert shown_row in again.text
    assert 'name="auto_ship" id="auto_ship" checked' in again.text

    # bad input: a tolerance that is not a percentage, the same goal twice, the experiment's own goal,
    # a tolerance without a goal, an unknown direction; each error names its field and nothing is saved
    cases = [
        ({"guardrail-1-tolerance": "150"}, "guardrail-0-tolerance"),
        ({"guardrail-1-tolerance": "nan"}, "guardrail-0-tolerance"),
        ({"guardrail-2-goal": "bounce"}, "guardrail-1-goal"),
        ({"guardrail-1-goal": "checkout"}, "guardrail-0-goal"),
        ({"guardrail-0-tolerance": "7"}, "guardrail-0-goal"),
        ({"guardrail-2-better": "sideways"}, "guardrail-1-better"),
    ]
    for change, field in cases:
        bad = await page.post(f"/experiments/{experiment['id']}/edit", {**form, **change})
        assert bad.status_code == 422, change
        assert f'id="{field}-error"' in bad.text, (change, bad.text[:2000])
    unchanged = (await tenant.get(f"/api/v1/experiments/{experiment['id']}", 200)).json()
    assert unchanged["guardrails"] == after["guardrails"]

    # unticking turns automatic decisions off; clearing the rows removes the guardrails
    cleared = {k: v for k, v in form.items() if not k.startswith(("guardrail-", "auto_"))}
    saved = await page.post(f"/experiments/{experiment['id']}/edit", cleared)
    assert saved.status_code in (302, 303), saved.text
    final = (await tenant.get(f"/api/v1/experiments/{experiment['id']}", 200)).json()
    assert final["guardrails"] == [] and final["auto_ship"] is False and final["auto_drop"] is False
