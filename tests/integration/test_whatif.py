"""the dashboard's "what if" on logged traffic with a known truth: estimates, intervals, the ess warning, bad
input named, other tenants refused."""

from __future__ import annotations

import re

from app.settings import Settings
from tests.integration.conftest import Tenant
from tests.integration.pages_support import PageSession
from tests.support.event_log import seed_log

HTMX = {"hx-request": "true", "accept": "text/html"}


async def ask(page: PageSession, experiment_id: str, policy: str, params: str = "", htmx: bool = True) -> object:
    headers = {**page.csrf, **(HTMX if htmx else {"accept": "text/html"})}
    return await page.client.post(
        f"/experiments/{experiment_id}/what-if",
        data={"policy": policy, "params": params},
        headers=headers,
        follow_redirects=False,
    )


def estimate(html: str, key: str) -> tuple[float, float, float]:
    """(value, low, high) in percent from the row of one estimator."""
    row = re.search(rf'data-estimator="{key}">.*?</tr>', html, re.S)
    assert row, f"no {key} row"
    numbers = [float(x) for x in re.findall(r"(-?\d+\.\d+)%", row.group(0))]
    assert len(numbers) == 3, row.group(0)
    return numbers[0], numbers[1], numbers[2]


async def test_uniform_traffic_estimates_match_the_truth(tenant: Tenant, settings: Settings) -> None:
    experiment = await tenant.experiment(reward_mode="conversion")
    # a uniform 50/50 split where arm 1 converts 15% and arm 0 5%: uniform earns 10%, always-arm-1 15%
    await seed_log(settings.database_url, experiment["id"], [0.5, 0.5], [0.05, 0.15], n=8000, seed=1)
    page = await PageSession(tenant.client).login(tenant.email)

    uniform = await ask(page, experiment["id"], "uniform")
    assert uniform.status_code == 200, uniform.text
    assert uniform.text.lstrip().startswith('<section id="what-if"')  # the partial, for htmx to swap in
    logged = estimate(uniform.text, "logged")
    for key in ("ips", "snips", "dr"):
        value, low, high = estimate(uniform.text, key)
        assert low <= 10.0 <= high and low <= logged[0] <= high, (key, value, low, high)
    assert "what-if-small-ess" not in uniform.text

    greedy = await ask(page, experiment["id"], "epsilon_greedy", "epsilon=0.02, decay=none")
    assert greedy.status_code == 200, greedy.text
    value, low, high = estimate(greedy.text, "snips")
    # trained on the first half it plays arm 1 about 99% of the time: close to 15%, well above the logged 10%
    assert low <= 14.9 <= high and value > logged[0] + 3

    # without javascript the form posts to the same place and gets the whole page back
    plain = await ask(page, experiment["id"], "uniform", htmx=False)
    assert plain.status_code == 200 and "<html" in plain.text and 'data-estimator="dr"' in plain.text


async def test_a_policy_the_log_barely_covers_gets_a_plain_warning(tenant: Tenant, settings: Settings) -> None:
    experiment = await tenant.experiment(reward_mode="conversion")
    # the experiment almost never showed arm 1; a policy that would always show it rests on a few dozen visits
    await seed_log(settings.database_url, experiment["id"], [0.995, 0.005], [0.05, 0.2], n=6000, seed=2)
    page = await PageSession(tenant.client).login(tenant.email)
    response = await ask(page, experiment["id"], "epsilon_greedy", "epsilon=0.0, decay=none")
    assert response.status_code == 200, response.text
    assert 'id="what-if-small-ess"' in response.text and "Too little evidence to trust" in response.text


async def test_bad_choices_are_named_and_other_tenants_see_nothing(
    tenant: Tenant, other_tenant: Tenant, settings: Settings
) -> None:
    experiment = await tenant.experiment(reward_mode="conversion")
    page = await PageSession(tenant.client).login(tenant.email)
    empty = await ask(page, experiment["id"], "beta_ts")
    assert empty.status_code == 200 and 'id="what-if-empty"' in empty.text
    for policy, params, field in (
        ("nope", "", "policy"),
        ("", "", "policy"),
        ("lin_ts", "", "policy"),  # contextual, on an experiment that logs no contexts
        ("beta_ts", "prior_alpha=-1", "params"),
        ("beta_ts", "garbage", "params"),
        ("beta_ts", "nonsense=3", "params"),
        ("uniform", "epsilon=0.1", "params"),
        ("beta_ts", "x=" + "9" * 2000, "params"),
    ):
        response = await ask(page, experiment["id"], policy, params)
        assert response.status_code == 422, (policy, params, response.text[:300])
        assert f'id="whatif-{field}-error"' in response.text, (policy, params)
        assert 'aria-invalid="true"' in response.text
    other = await PageSession(tenant.client).login(other_tenant.email)
    assert (await ask(other, experiment["id"], "beta_ts")).status_code == 404
    assert (await other.get(f"/experiments/{experiment['id']}/what-if")).status_code == 404
