""" "edit on my site": the experiment page hands out a short-lived, single-use edit token and opens the
customer's page with it; the tag there loads the visual editor (app.domain.tag.editor)."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit
from uuid import UUID

from litestar import Controller, Request, post
from litestar.di import NamedDependency, Provide
from litestar.enums import MediaType
from litestar.params import FromPath, URLEncodedBody
from litestar.response import Template

from app.db.models import Site
from app.domain.experiments.services import ExperimentService, provide_experiment_service
from app.domain.sites.services import SiteService, provide_site_service
from app.domain.tag.editor import TOKEN_TTL_SECONDS
from app.domain.tag.origins import origin_of
from app.domain.team.guards import current_member
from app.lib.auth import Principal, requires_editor, requires_viewer
from app.lib.deps import provide_principal
from app.lib.errors import InvalidInputError
from app.runtime.editing import EditingStore


def page_with(url: str, name: str, value: str) -> str:
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != name] + [(name, value)]
    return urlunsplit((parts.scheme, parts.netloc, parts.path or "/", urlencode(query), ""))


def checked_page(url: str, site: Site, *, must_be_allowed: bool) -> str:
    """an http(s) page url; for the editor also on one of the site's allowed origins (the token goes there)."""
    url = url.strip()
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.netloc or len(url) > 2000:
        raise InvalidInputError(
            "give the full address of a page, like https://www.example.com/pricing", field="page_url"
        )
    origin = origin_of(f"{parts.scheme}://{parts.netloc}")
    if must_be_allowed and origin not in site.allowed_origins:
        allowed = ", ".join(site.allowed_origins) or "none yet"
        raise InvalidInputError(
            f"{origin} is not an allowed origin of {site.name} (allowed: {allowed}); add it on the sites page",
            field="page_url",
        )
    return url


def default_page(site: Site | None) -> str:
    if site is None:
        return ""
    if site.last_seen_url:
        return site.last_seen_url
    return f"{site.allowed_origins[0]}/" if site.allowed_origins else ""


class ExperimentEditorPages(Controller):
    path = "/experiments"
    include_in_schema = False
    guards = [current_member, requires_viewer]
    dependencies = {
        "experiments": Provide(provide_experiment_service, sync_to_thread=False),
        "sites": Provide(provide_site_service, sync_to_thread=False),
        "principal": Provide(provide_principal, sync_to_thread=False),
    }

    @post("/{experiment_id:uuid}/edit-on-site", guards=[requires_editor], media_type=MediaType.HTML)
    async def edit_on_site(
        self,
        experiment_id: FromPath[UUID],
        data: URLEncodedBody[dict[str, str]],
        experiments: NamedDependency[ExperimentService],
        sites: NamedDependency[SiteService],
        principal: NamedDependency[Principal],
        request: Request[Any, Any, Any],
    ) -> Template:
        """opens the page with a single-use edit token for this experiment (10 minutes to use it)."""
        experiment = await experiments.get(principal, experiment_id)
        if experiment.site_id is None:
            raise InvalidInputError("choose the experiment's site first (Edit → Site)", field="site_id")
        site = await sites.get(principal, experiment.site_id)
        url = checked_page(data.get("page_url", ""), site, must_be_allowed=True)
        store: EditingStore = request.app.state.editing
        grant = {
            "experiment_id": str(experiment.id),
            "organization_id": str(principal.organization_id),
            "user_id": str(principal.user_id),
            "site_key": site.public_key,
            "origin": origin_of(f"{urlsplit(url).scheme}://{urlsplit(url).netloc}"),
        }
        token = await store.issue("token", grant, TOKEN_TTL_SECONDS)
        what = "The visual editor opens on your page."
        return open_page(page_with(url, "levers_edit", token), url, what)


def open_page(url: str, shown: str, what: str) -> Template:
    """a page in the new tab that moves on to the customer's page (see sites/open_page.html for why)."""
    context = {"url": url, "shown": shown, "what": what}
    return Template(template_name="sites/open_page.html", context=context, headers={"Cache-Control": "no-store"})
