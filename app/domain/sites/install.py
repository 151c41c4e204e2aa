"""the complete install of a site for each route (gtm custom html, gtm community template, plain <head>), each
with the anti-flicker line where it must go, and the site page's actions on refused origins."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import msgspec
from litestar import Controller, Request, get, post
from litestar.di import NamedDependency, Provide
from litestar.enums import MediaType
from litestar.params import FromPath, URLEncodedBody
from litestar.plugins.htmx import HTMXTemplate
from litestar.response import Redirect, Template

from app.db.models import Site
from app.domain.experiments.editor_pages import checked_page, open_page, page_with
from app.domain.sites.schemas import Origin, SiteUpdate
from app.domain.sites.services import SiteService, gtm_snippet, normalise_origins, provide_site_service, tag_url
from app.domain.tag.editor import CHECK_TTL_SECONDS
from app.domain.team.guards import current_member
from app.lib.auth import Principal, requires_editor, requires_viewer
from app.lib.deps import provide_principal
from app.lib.errors import InvalidInputError
from app.runtime.editing import EditingStore, Refusal


@dataclass(frozen=True)
class Install:
    """what the site page shows for one site: the head line and each route's code."""

    head_line: str
    gtm_html: str
    plain_head: str
    setup_template_url: str
    conversion_template_url: str


def head_line(base_url: str, site: Site) -> str:
    # render-blocking on purpose: it is what hides, from the very first paint, the elements experiments change
    # (marked ones and visual-editor targets), and it reveals them by itself after 2 s if the tag never runs
    return f'<link rel="stylesheet" href="{base_url}/t/{site.public_key}.css">'


def install_of(base_url: str, site: Site) -> Install:
    head = head_line(base_url, site)
    plain = (
        f"{head}\n"
        "<script>window.levers = window.levers || function () { (levers.q = levers.q || []).push(arguments); };"
        "</script>\n"
        f'<script async src="{tag_url(base_url, site)}"></script>'
    )
    return Install(
        head_line=head,
        gtm_html=gtm_snippet(base_url, site),
        plain_head=plain,
        setup_template_url=f"{base_url}/t/{site.public_key}.setup.tpl",
        conversion_template_url=f"{base_url}/t/{site.public_key}.conversion.tpl",
    )


async def checks_by_site(request: Request[Any, Any, Any], sites: list[Site]) -> dict[str, dict[str, Any]]:
    """the latest install check of each site (waiting or done), by site id."""
    store: EditingStore = request.app.state.editing
    out: dict[str, dict[str, Any]] = {}
    for site in sites:
        report = await store.get("check", str(site.id))
        if report is not None:
            out[str(site.id)] = report
    return out


def check_context(site: Site, report: dict[str, Any] | None, principal: Principal) -> dict[str, Any]:
    now = time.time()
    waiting = report is not None and report.get("status") == "waiting"
    return {
        "site_id": str(site.id),
        "report": report,
        "waiting": waiting and now - float(report.get("at", now)) < CHECK_TTL_SECONDS if report else False,
        "waited": round(now - float(report.get("at", now))) if report else 0,
        "principal": principal,
        "checked": datetime.fromtimestamp(float(report.get("at", now)) if report else now, UTC),
    }


async def refused_by_site(request: Request[Any, Any, Any], sites: list[Site]) -> dict[str, list[Refusal]]:
    store: EditingStore = request.app.state.editing
    return await store.refused([site.public_key for site in sites])


_origin_decoder = msgspec.json.Decoder(Origin)


class SiteInstallPages(Controller):
    path = "/sites"
    include_in_schema = False
    guards = [current_member, requires_viewer]
    dependencies = {
        "sites": Provide(provide_site_service, sync_to_thread=False),
        "principal": Provide(provide_principal, sync_to_thread=False),
    }

    @post("/{site_id:uuid}/origins/allow", guards=[requires_editor], media_type=MediaType.HTML)
    async def allow_origin(
        self,
        site_id: FromPath[UUID],
        data: URLEncodedBody[dict[str, str]],
        sites: NamedDependency[SiteService],
        principal: NamedDependency[Principal],
        request: Request[Any, Any, Any],
    ) -> Redirect:
        """one click on a refused origin: it joins the allowed origins and leaves the refused list."""
        site = await sites.get(principal, site_id)
        origin = data.get("origin", "").strip().rstrip("/").lower()
        try:
            _origin_decoder.decode(msgspec.json.encode(origin))
        except msgspec.ValidationError as exc:
            raise InvalidInputError("an origin looks like https://www.example.com", field="origin") from exc
        origins = normalise_origins([*site.allowed_origins, origin])
        try:
            update = msgspec.convert({"allowed_origins": origins}, SiteUpdate)
        except msgspec.ValidationError as exc:
            raise InvalidInputError("a site allows 50 origins at most", field="allowed_origins") from exc
        await sites.update(principal, site_id, update)
        store: EditingStore = request.app.state.editing
        await store.forget_refused(site.public_key, [origin])
        return Redirect(f"/sites#site-card-{site.id}")

    @post("/{site_id:uuid}/check", guards=[requires_editor], media_type=MediaType.HTML)
    async def start_check(
        self,
        site_id: FromPath[UUID],
        data: URLEncodedBody[dict[str, str]],
        sites: NamedDependency[SiteService],
        principal: NamedDependency[Principal],
        request: Request[Any, Any, Any],
    ) -> Template:
        """opens the page with a single-use check token; the tag there reports what it saw (app.domain.tag.editor)."""
        site = await sites.get(principal, site_id)
        # any origin: finding out that the page's origin is refused is what the check is for
        url = checked_page(data.get("page_url", ""), site, must_be_allowed=False)
        store: EditingStore = request.app.state.editing
        grant = {"site_id": str(site.id), "site_key": site.public_key}
        token = await store.issue("check", grant, CHECK_TTL_SECONDS)
        await store.put("check", str(site.id), {"status": "waiting", "url": url, "at": time.time()}, CHECK_TTL_SECONDS)
        return open_page(page_with(url, "levers_check", token), url, "Levers checks the install on your page.")

    @get("/{site_id:uuid}/check")
    async def check_report(
        self,
        site_id: FromPath[UUID],
        sites: NamedDependency[SiteService],
        principal: NamedDependency[Principal],
        request: Request[Any, Any, Any],
    ) -> Template:
        """the latest install check of the site: polls itself while the page has not reported yet."""
        site = await sites.get(principal, site_id)
        store: EditingStore = request.app.state.editing
        context = {"check": check_context(site, await store.get("check", str(site.id)), principal)}
        return HTMXTemplate(template_name="sites/partials/_check_report.html", context=context)
