"""members, roles and invitation links through the api and the pages; api key last use."""

from __future__ import annotations

import asyncio
import secrets

from litestar import Litestar
from litestar.testing import AsyncTestClient

from tests.integration.conftest import Tenant
from tests.integration.pages_support import PASSWORD, PageSession


async def join_by_link(client: AsyncTestClient[Litestar], url: str) -> tuple[str, dict[str, str]]:
    """a new person opens the link, creates an account through the page, then logs in to the api."""
    path = url.split("://", 1)[1].split("/", 1)[1]
    page = PageSession(client)
    client.cookies.clear()
    shown = await page.get(f"/{path}")
    assert shown.status_code == 200 and "Join" in shown.text
    email = f"invitee-{secrets.token_hex(4)}@example.com"
    response = await page.post(f"/{path}", {"email": email, "password": PASSWORD})
    assert response.status_code in (302, 303), response.text
    login = await client.post("/auth/login", json={"email": email, "password": PASSWORD})
    return email, {"Authorization": f"Bearer {login.json()['access_token']}"}


async def test_invited_viewer_reads_but_cannot_change(tenant: Tenant) -> None:
    experiment = await tenant.experiment(status="draft")
    invite = await tenant.post("/api/v1/team/invitations", {"role": "viewer", "email": "v@example.com"}, 201)
    url = invite.json()["url"]
    assert "/invite/inv_" in url
    email, viewer = await join_by_link(tenant.client, url)
    client = tenant.client

    members = (await client.get("/api/v1/team/members", headers=viewer)).json()
    assert sorted(m["role"] for m in members) == ["owner", "viewer"]
    assert (await client.get(f"/api/v1/experiments/{experiment['id']}", headers=viewer)).status_code == 200
    refused = [
        await client.put(f"/api/v1/experiments/{experiment['id']}", json={"status": "running"}, headers=viewer),
        await client.post("/api/v1/sites", json={"name": "s"}, headers=viewer),
        await client.post("/api/v1/team/invitations", json={"role": "viewer"}, headers=viewer),
        await client.get("/auth/api-keys", headers=viewer),
    ]
    assert [r.status_code for r in refused] == [403, 403, 403, 403]
    # the link is single use
    assert (await client.get("/" + url.split("/", 3)[3])).status_code == 404

    page = await PageSession(client).login(email)
    assert (await page.post(f"/experiments/{experiment['id']}/status", {"action": "start"})).status_code == 403
    assert (await page.get("/api-keys")).status_code == 403
    html = (await page.get(f"/experiments/{experiment['id']}")).text
    assert 'value="start"' not in html and "Declare winner" not in html


async def test_role_changes_apply_to_pages_at_once_and_owner_rules_hold(tenant: Tenant) -> None:
    invite = await tenant.post("/api/v1/team/invitations", {"role": "editor"}, 201)
    email, _ = await join_by_link(tenant.client, invite.json()["url"])
    members = (await tenant.get("/api/v1/team/members", 200)).json()
    editor = next(m for m in members if m["email"] == email)
    owner = next(m for m in members if m["role"] == "owner")

    page = await PageSession(tenant.client).login(email)
    assert "New experiment" in (await page.get("/experiments")).text
    put = tenant.client.put
    demoted = await put(f"/api/v1/team/members/{editor['id']}", json={"role": "viewer"}, headers=tenant.headers)
    assert demoted.status_code == 200 and demoted.json()["role"] == "viewer"
    # same session cookie, next click: the page reads the role from postgres
    assert "New experiment" not in (await page.get("/experiments")).text
    assert (await page.get("/experiments/new")).status_code == 403

    last_owner = await put(f"/api/v1/team/members/{owner['id']}", json={"role": "admin"}, headers=tenant.headers)
    assert last_owner.status_code == 409
    await put(f"/api/v1/team/members/{editor['id']}", json={"role": "admin"}, headers=tenant.headers)
    admin_login = await tenant.client.post("/auth/login", json={"email": email, "password": PASSWORD})
    admin = {"Authorization": f"Bearer {admin_login.json()['access_token']}"}
    as_admin = tenant.client
    assert (await as_admin.post("/api/v1/team/invitations", json={"role": "owner"}, headers=admin)).status_code == 403
    demote_owner = await as_admin.put(f"/api/v1/team/members/{owner['id']}", json={"role": "viewer"}, headers=admin)
    assert demote_owner.status_code == 403
    assert (await as_admin.post("/api/v1/team/invitations", json={"role": "editor"}, headers=admin)).status_code == 201

    removed = await tenant.client.delete(f"/api/v1/team/members/{editor['id']}", headers=tenant.headers)
    assert removed.status_code == 204
    response = await page.get("/experiments")
    assert response.status_code in (302, 303) and "/login" in response.headers["location"]


async def test_another_tenants_members_and_invitations_are_404(tenant: Tenant, other_tenant: Tenant) -> None:
    mine = (await tenant.get("/api/v1/team/members", 200)).json()[0]
    invite = (await tenant.post("/api/v1/team/invitations", {"role": "viewer"}, 201)).json()
    client, headers = other_tenant.client, other_tenant.headers
    change = await client.put(f"/api/v1/team/members/{mine['id']}", json={"role": "viewer"}, headers=headers)
    assert change.status_code == 404
    assert (await client.post(f"/api/v1/team/invitations/{invite['id']}/revoke", headers=headers)).status_code == 404
    revoked = await tenant.post(f"/api/v1/team/invitations/{invite['id']}/revoke", None, 200)
    assert revoked.json()["revoked_at"] is not None
    path = "/" + invite["url"].split("/", 3)[3]
    assert (await tenant.client.get(path)).status_code == 404


async def test_api_key_last_use_is_recorded_without_touching_postgres_on_the_request(tenant: Tenant) -> None:
    created = (await tenant.post("/auth/api-keys", {"name": "backend"}, 201)).json()
    listed = (await tenant.get("/auth/api-keys", 200)).json()
    assert listed[0]["last_used_at"] is None
    response = await tenant.client.get("/api/v1/experiments", headers={"Authorization": f"Bearer {created['key']}"})
    assert response.status_code == 200
    listed = (await tenant.get("/auth/api-keys", 200)).json()
    assert listed[0]["last_used_at"] is not None

    page = await PageSession(tenant.client).login(tenant.email)
    html = (await page.get("/api-keys")).text
    assert created["prefix"] in html and created["key"] not in html
    made = await page.post("/api-keys", {"name": "second"})
    assert made.status_code == 201 and 'id="new-key"' in made.text and "lv_" in made.text
    revoked = await page.post(f"/api-keys/{created['id']}/revoke", {})
    assert revoked.status_code in (302, 303)
    refused = await tenant.client.get("/api/v1/experiments", headers={"Authorization": f"Bearer {created['key']}"})
    assert refused.status_code == 401


async def test_a_role_change_ends_the_members_live_api_tokens(tenant: Tenant) -> None:
    invite = await tenant.post("/api/v1/team/invitations", {"role": "editor"}, 201)
    email, editor_headers = await join_by_link(tenant.client, invite.json()["url"])
    client = tenant.client
    assert (await client.post("/api/v1/sites", json={"name": "s"}, headers=editor_headers)).status_code == 201
    member = next(m for m in (await tenant.get("/api/v1/team/members", 200)).json() if m["email"] == email)
    # tokens carry their role; a token issued before the change must not keep the editor's rights
    await asyncio.sleep(1.1)
    await client.put(f"/api/v1/team/members/{member['id']}", json={"role": "viewer"}, headers=tenant.headers)
    stale = await client.post("/api/v1/sites", json={"name": "s"}, headers=editor_headers)
    assert stale.status_code == 401 and "log in again" in stale.json()["detail"]
    login = await client.post("/auth/login", json={"email": email, "password": PASSWORD})
    viewer_headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
    assert (await client.get("/api/v1/experiments", headers=viewer_headers)).status_code == 200
    assert (await client.post("/api/v1/sites", json={"name": "s"}, headers=viewer_headers)).status_code == 403
    # removed: the fresh token stops working too
    await asyncio.sleep(1.1)
    await client.delete(f"/api/v1/team/members/{member['id']}", headers=tenant.headers)
    assert (await client.get("/api/v1/experiments", headers=viewer_headers)).status_code == 401
    # the owner's own token is untouched
    assert (await client.get("/api/v1/experiments", headers=tenant.headers)).status_code == 200
