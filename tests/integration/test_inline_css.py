"""a browser without the stylesheet gets it inline (with its csp hash and a cookie); one holding it gets the link."""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
import uuid
from dataclasses import replace

from litestar import Litestar
from litestar.testing import AsyncTestClient

from app.asgi import create_app
from app.settings import Settings
from tests.conftest import scoped
from tests.integration.conftest import Tenant
from tests.integration.pages_support import PageSession
from tests.integration.test_static_assets import STATIC, hashed

CSS = (STATIC / "css/levers.css").read_bytes()
DIGEST = hashlib.sha256(CSS).hexdigest()[:12]
STYLE = re.compile(r"<style>(.*?)</style>", re.S)
LINK = f'<link rel="stylesheet" href="{hashed("css/levers.css")}">'
PREFETCH = f'<link rel="prefetch" href="{hashed("css/levers.css")}" as="style">'
HTML = {"accept": "text/html"}


def css_cookie(response: object) -> str | None:
    for value in response.headers.get_list("set-cookie"):  # type: ignore[attr-defined]
        if value.startswith("levers_css="):
            return str(value)
    return None


def style_src(response: object) -> str:
    csp = response.headers["content-security-policy"]  # type: ignore[attr-defined]
    return next(part.strip() for part in csp.split(";") if part.strip().startswith("style-src "))


def assert_inlined(response: object) -> None:
    text = response.text  # type: ignore[attr-defined]
    inlined = STYLE.findall(text)
    assert len(inlined) == 1 and inlined[0].encode() == CSS
    assert PREFETCH in text and 'rel="stylesheet"' not in text
    # the csp allows exactly the bytes that were inlined, and no other inline style element
    digest = base64.b64encode(hashlib.sha256(inlined[0].encode()).digest()).decode()
    assert style_src(response) == f"style-src 'self' 'sha256-{digest}'"
    assert "unsafe-inline" not in response.headers["content-security-policy"].split("style-src-attr")[0]  # type: ignore[attr-defined]
    cookie = css_cookie(response)
    assert cookie is not None
    assert cookie.split(";")[0] == f"levers_css={DIGEST}"
    flags = {flag.strip().lower() for flag in cookie.split(";")[1:]}
    assert {"path=/", "samesite=lax", "max-age=31536000"} <= flags and "secure" not in flags


def assert_linked(response: object) -> None:
    text = response.text  # type: ignore[attr-defined]
    assert LINK in text and "<style" not in text and 'rel="prefetch"' not in text
    assert style_src(response) == "style-src 'self'"
    assert css_cookie(response) is None


async def test_a_first_visit_inlines_the_css_and_the_cookie_then_links(client: AsyncTestClient[Litestar]) -> None:
    client.cookies.clear()
    first = await client.get("/login", headers=HTML)
    assert first.status_code == 200
    assert_inlined(first)
    # the client keeps the cookie, as a browser does: the next page links the (prefetched) file
    assert client.cookies.get("levers_css") == DIGEST
    again = await client.get("/register", headers=HTML)
    assert again.status_code == 200
    assert_linked(again)


async def test_a_stale_cookie_gets_the_css_inline_again(client: AsyncTestClient[Litestar]) -> None:
    client.cookies.clear()
    client.cookies.set("levers_css", "0123456789ab")
    response = await client.get("/login", headers=HTML)
    assert_inlined(response)


async def test_pages_behind_the_login_and_error_pages_inline_for_a_cold_browser(
    client: AsyncTestClient[Litestar], tenant: Tenant
) -> None:
    experiment = await tenant.experiment()
    page = await PageSession(client).login(tenant.email)
    for path in [f"/experiments/{experiment['id']}", "/no-such-page", f"/experiments/{uuid.uuid4()}"]:
        client.cookies.delete("levers_css")
        response = await page.get(path)
        assert response.status_code in (200, 404), path
        assert_inlined(response)
        assert_linked(await page.get(path))


async def test_htmx_answers_and_head_requests_never_inline(client: AsyncTestClient[Litestar], tenant: Tenant) -> None:
    experiment = await tenant.experiment()
    await PageSession(client).login(tenant.email)
    client.cookies.delete("levers_css")
    htmx = {**HTML, "hx-request": "true"}
    partial = await client.get(f"/experiments/{experiment['id']}/results", headers=htmx)
    assert partial.status_code == 200 and "<style" not in partial.text and css_cookie(partial) is None
    assert style_src(partial) == "style-src 'self'"
    # an error answered to htmx is the whole error page: still linked, never a <style> swapped into the document
    missing = await client.get(f"/experiments/{uuid.uuid4()}", headers=htmx)
    assert missing.status_code == 404
    assert_linked(missing)
    # a HEAD answer has no body to carry the css: no cookie claiming the browser has it
    for path in ["/login", "/experiments", "/no-such-page"]:
        head = await client.head(path, headers=HTML)
        assert head.content == b"" and css_cookie(head) is None, (path, head.status_code)
        assert style_src(head) == "style-src 'self'", path
    # while the same error page, asked for by the browser itself, does carry it
    assert_inlined(await client.get(f"/experiments/{uuid.uuid4()}", headers=HTML))


async def test_the_cookie_is_secure_where_the_apps_cookies_are(settings: Settings) -> None:
    production = replace(scoped(settings, f"prod{secrets.token_hex(2)}"), env="production")
    async with AsyncTestClient(app=create_app(production), base_url="https://testserver.local") as client:
        response = await client.get("/login", headers=HTML)
        cookie = css_cookie(response)
        assert cookie is not None and "secure" in {flag.strip().lower() for flag in cookie.split(";")}
