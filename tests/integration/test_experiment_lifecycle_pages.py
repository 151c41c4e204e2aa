"""the dashboard's lifecycle: confirmation dialogs say what will happen, undo, archive, duplicate, typed-name
delete, the completed page's single verdict, and the experiments list (visitors, leader, sort and filter)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine

from app.settings import Settings
from tests.integration.conftest import Tenant
from tests.integration.pages_support import PageSession, seed_rows


async def experiment_with_arms(tenant: Tenant, names: list[str], **fields: Any) -> dict[str, Any]:
    pool = await tenant.post("/api/v1/pools", {"name": "p", "arms": [{"name": n} for n in names]}, 201)
    body = {"name": fields.pop("name", "cta"), "pool_id": pool.json()["id"], "reward_mode": "conversion", **fields}
    return (await tenant.post("/api/v1/experiments", body, 201)).json()


async def test_dialogs_say_what_happens_and_stop_can_be_undone(tenant: Tenant) -> None:
    experiment = await experiment_with_arms(tenant, ["Blue", "Green"], status="running")
    page = await PageSession(tenant.client).login(tenant.email)
    path = f"/experiments/{experiment['id']}"
    html = (await page.get(path)).text
    # each action opens a dialog that names its consequences; cancel is focused first
    for dialog in ("confirm-pause", "confirm-stop", "confirm-winner", "confirm-delete"):
        assert (
            f'<dialog id="{dialog}" class="confirm"' in html and f'commandfor="{dialog}" command="show-modal"' in html
        )
    assert "Every visitor gets <strong>Blue</strong> (the control) from now on." in html
    assert "You can undo this for 10 minutes." in html
    assert 'id="confirm-archive"' not in html  # a running experiment must be paused or stopped first
    assert html.count('command="close" autofocus>Cancel') >= 4

    stopped = await page.post(f"{path}/status", {"action": "stop"})
    assert stopped.status_code in (302, 303)
    html = (await page.get(path)).text
    assert "Stopped without a winner" in html and 'id="undo-form"' in html
    assert "<strong>Serving now:</strong> Blue (the control) to every visitor." in html
    undone = await page.post(f"{path}/undo", {})
    assert undone.status_code in (302, 303) and undone.headers["location"].endswith("?done=undone")
    html = (await page.get(f"{path}?done=undone")).text
    assert "Undone: the experiment is running again" in html
    # a second undo has nothing to take back: an error page, not a 500
    again = await page.post(f"{path}/undo", {})
    assert again.status_code == 409


async def test_completed_page_has_one_verdict_and_says_what_is_served(tenant: Tenant, settings: Settings) -> None:
    experiment = await experiment_with_arms(tenant, ["Control", "Green"], status="running")
    await seed_rows(settings.database_url, experiment["id"], [(40, 2), (40, 3)], hours=4)
    page = await PageSession(tenant.client).login(tenant.email)
    path = f"/experiments/{experiment['id']}"
    assert "Not enough data" in (await page.get(path)).text  # while it runs, the live recommendation shows

    await page.post(f"{path}/winner", {"winner_index": "1"})
    html = (await page.get(path)).text
    assert "Winner: Green" in html and "<strong>Serving now:</strong> Green to every visitor." in html
    assert "What the data said at the end:</strong>" in html and "no verdict: Green led with a" in html
    # the contradiction of old: a winner above "not enough data… about N more"
    assert "Not enough data" not in html and "more visitors" not in html
    assert 'data-recommendation="' not in html


async def test_archive_restore_duplicate_and_typed_delete(tenant: Tenant) -> None:
    experiment = await experiment_with_arms(tenant, ["A", "B"], name="Checkout button", status="draft")
    page = await PageSession(tenant.client).login(tenant.email)
    path = f"/experiments/{experiment['id']}"

    archived = await page.post(f"{path}/archive", {})
    assert archived.status_code in (302, 303)
    html = (await page.get(f"{path}?done=archived")).text
    assert 'id="archived-banner"' in html and "Restore" in html and "Archived: it is no longer served" in html
    listing = (await page.get("/experiments")).text
    assert "Checkout button" not in listing
    assert "Checkout button" in (await page.get("/experiments?show=archived")).text
    await page.post(f"{path}/restore", {})
    assert "Checkout button" in (await page.get("/experiments")).text

    copied = await page.post(f"{path}/duplicate", {})
    assert copied.status_code in (302, 303) and copied.headers["location"].endswith("?done=duplicated")
    copy_html = (await page.get(copied.headers["location"])).text
    assert "Copy of Checkout button" in copy_html and "This is a draft copy" in copy_html

    # delete needs the name typed exactly; a wrong one is a 422 naming the field, and nothing is deleted
    wrong = await page.post(f"{path}/delete", {"confirm_name": "checkout"})
    assert wrong.status_code == 422
    assert (
        'id="confirm_name"' in wrong.text and 'aria-invalid="true"' in wrong.text and 'value="checkout"' in wrong.text
    )
    assert "name exactly as shown, “Checkout button”, to delete it" in wrong.text
    assert (await page.post(f"{path}/delete", {})).status_code == 422  # nothing typed
    assert (await tenant.get(f"/api/v1/experiments/{experiment['id']}")).status_code == 200
    confirm = await page.get(f"{path}/delete")
    assert confirm.status_code == 200 and "Delete “Checkout button” for good?" in confirm.text
    deleted = await page.post(f"{path}/delete", {"confirm_name": "Checkout button"})
    assert deleted.status_code in (302, 303)
    assert (await tenant.get(f"/api/v1/experiments/{experiment['id']}")).status_code == 404
    assert "Deleted “Checkout button”" in (await page.get(deleted.headers["location"])).text


async def test_another_tenants_experiment_is_404_on_every_lifecycle_page(tenant: Tenant, other_tenant: Tenant) -> None:
    experiment = await experiment_with_arms(tenant, ["A", "B"])
    page = await PageSession(other_tenant.client).login(other_tenant.email)
    path = f"/experiments/{experiment['id']}"
    for action in ("undo", "archive", "restore", "duplicate", "delete"):
        assert (await page.post(f"{path}/{action}", {"confirm_name": "cta"})).status_code == 404, action
    assert (await page.get(f"{path}/delete")).status_code == 404
    assert (await page.get(f"{path}/targeting")).status_code == 404


async def test_list_shows_visitors_leader_and_start_and_sorts_and_filters(tenant: Tenant, settings: Settings) -> None:
    quiet = await experiment_with_arms(tenant, ["A", "B"], name="Quiet", status="running")
    busy = await experiment_with_arms(tenant, ["Old", "New"], name="Busy", status="running")
    draft = await experiment_with_arms(tenant, ["A", "B"], name="Draft one", status="draft")
    await seed_rows(settings.database_url, busy["id"], [(3000, 90), (3000, 180)], hours=48)
    await seed_rows(settings.database_url, quiet["id"], [(50, 1), (50, 2)], hours=2)
    page = await PageSession(tenant.client).login(tenant.email)

    html = (await page.get("/experiments?sort=visitors")).text
    rows = html.split('<tr data-key="')[1:]
    assert [r.split('"')[0] for r in rows] == [busy["key"], quiet["key"], draft["key"]]
    assert 'data-field="visitors">6,000<' in rows[0]
    leader = rows[0].split('data-field="leader">')[1].split("</td>")[0]
    assert leader.startswith("New <span") and "&gt;99% chance to be best" in leader, leader
    assert "day" in rows[0] and "running" in rows[0]
    assert "not started" in rows[2] and "no visitors yet" in rows[2]

    names = (await page.get("/experiments?sort=name")).text
    assert names.index(">Busy<") < names.index(">Draft one<") < names.index(">Quiet<")
    drafts = (await page.get("/experiments?show=draft")).text
    assert "Draft one" in drafts and ">Busy<" not in drafts
    # bad query parameters are a 400 naming the parameter
    for query in ("sort=best", "show=deleted"):
        bad = await tenant.client.get(f"/experiments?{query}", headers={"accept": "application/json"})
        assert bad.status_code == 400, query
        assert query.split("=")[0] in bad.text


async def test_the_list_runs_the_same_queries_for_two_or_eight_experiments(tenant: Tenant, settings: Settings) -> None:
    page = await PageSession(tenant.client).login(tenant.email)
    statements: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    async def queries_for_list() -> int:
        statements.clear()
        event.listen(Engine, "before_cursor_execute", count)
        try:
            assert (await page.get("/experiments?sort=visitors")).status_code == 200
        finally:
            event.remove(Engine, "before_cursor_execute", count)
        return len(statements)

    for i in range(2):
        e = await experiment_with_arms(tenant, ["A", "B"], name=f"e{i}", status="running")
        await seed_rows(settings.database_url, e["id"], [(100, 3), (100, 5)], hours=3)
    few = await queries_for_list()
    for i in range(6):
        e = await experiment_with_arms(tenant, ["A", "B", "C"], name=f"more{i}", status="running")
        await seed_rows(settings.database_url, e["id"], [(100, 3), (100, 5), (100, 4)], hours=3)
    many = await queries_for_list()
    assert few == many, (few, many)
