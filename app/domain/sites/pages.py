from __future__ import annotations

from typing import Any
from uuid import UUID

import msgspec
from litestar import Controller, Request, get, post
from litestar.di import NamedDependency, Provide
from litestar.enums import MediaType
from litestar.params import FromPath, URLEncodedBody
from litestar.plugins.htmx import HTMXTemplate
from litestar.response import Redirect, Template

from app.domain.experiments.editor_pages import default_page
from app.domain.sites.install import check_context, checks_by_site, install_of, refused_by_site
from app.domain.sites.schemas import SiteCreate, SiteUpdate
from app.domain.sites.services import SiteService, base_url_of, provide_site_service
from app.domain.team.guards import current_member
from app.lib.auth import Principal, requires_editor, requires_viewer
from app.lib.deps import provide_principal
from app.lib.errors import DomainError, form_error

Form = URLEncodedBody[dict[str, str]]


class SitePages(Controller):
    path = "/sites"
    include_in_schema = False
    guards = [current_member, requires_viewer]
    dependencies = {
        "sites": Provide(provide_site_service, sync_to_thread=False),
        "principal": Provide(provide_principal, sync_to_thread=False),
    }

    async def _page(
        self,
        sites: NamedDependency[SiteService],
        principal: NamedDependency[Principal],
        request: Request[Any, Any, Any],
        values: dict[str, str],
        errors: dict[str, str],
        status_code: int = 200,
        editing: str | None = None,
    ) -> Template:
        models, base_url = await sites.list(principal), base_url_of(request)
        refused, checks = await refused_by_site(request, models), await checks_by_site(request, models)
        rows = [
            {
                "site": out,
                "install": install_of(base_url, model),
                "refused": refused.get(model.public_key, []),
                "check": check_context(model, checks.get(str(model.id)), principal),
                "check_page": default_page(model),
            }
            for model, out in zip(models, await sites.outputs(models, base_url), strict=True)
        ]
        return HTMXTemplate(
            template_name="sites/list.html",
            status_code=status_code,
            context={"rows": rows, "values": values, "errors": errors, "principal": principal, "editing": editing},
        )

    @get()
    async def list_page(
        self,
        sites: NamedDependency[SiteService],
        principal: NamedDependency[Principal],
        request: Request[Any, Any, Any],
    ) -> Template:
        return await self._page(sites, principal, request, {}, {})

    @post(guards=[requires_editor], media_type=MediaType.HTML)
    async def create(
        self,
        data: Form,
        sites: NamedDependency[SiteService],
        principal: NamedDependency[Principal],
        request: Request[Any, Any, Any],
    ) -> Any:
        values = dict(data)
        origins = parse_origins(values.get("allowed_origins", ""))
        try:
            await sites.create(
                principal,
                msgspec.convert({"name": values.get("name", "").strip(), "allowed_origins": origins}, SiteCreate),
            )
        except msgspec.ValidationError as exc:
            path, _ = form_error(exc, "name")
            field = "allowed_origins" if path.startswith("allowed_origins") else "name"
            message = (
                "Origins look like https://www.example.com (no path)."
                if field == "allowed_origins"
                else "Give the site a name."
            )
            return await self._page(sites, principal, request, values, {field: message}, 422)
        except DomainError as exc:
            return await self._page(sites, principal, request, values, {exc.field or "name": exc.message}, 422)
        return Redirect("/sites")

    @post("/{site_id:uuid}", guards=[requires_editor], media_type=MediaType.HTML)
    async def update(
        self,
        site_id: FromPath[UUID],
        data: Form,
        sites: NamedDependency[SiteService],
        principal: NamedDependency[Principal],
        request: Request[Any, Any, Any],
    ) -> Any:
        origins = parse_origins(data.get("allowed_origins", ""))
        try:
            await sites.update(principal, site_id, msgspec.convert({"allowed_origins": origins}, SiteUpdate))
        except msgspec.ValidationError:
            errors = {f"origins-{site_id}": "Origins look like https://www.example.com (no path)."}
            values = {f"origins-{site_id}": data.get("allowed_origins", "")}
            return await self._page(sites, principal, request, values, errors, 422, editing=str(site_id))
        return Redirect("/sites")


def parse_origins(text: str) -> list[str]:
    return [o.strip() for o in text.replace(",", "\n").splitlines() if o.strip()]
