from __future__ import annotations

from typing import Any
from uuid import UUID

from litestar import Controller, Request, delete, get, post, put
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, JSONBody

from app.domain.sites.schemas import Site, SiteCreate, SiteUpdate
from app.domain.sites.services import SiteService, base_url_of, provide_site_service, site_out
from app.lib.auth import Principal, requires_editor
from app.lib.deps import provide_principal
from app.lib.openapi import api_responses


class SiteController(Controller):
    path = "/sites"
    tags = ["sites"]
    dependencies = {
        "sites": Provide(provide_site_service, sync_to_thread=False),
        "principal": Provide(provide_principal, sync_to_thread=False),
    }

    @get(responses=api_responses())
    async def list_sites(
        self,
        sites: NamedDependency[SiteService],
        principal: NamedDependency[Principal],
        request: Request[Any, Any, Any],
    ) -> list[Site]:
        """List the organization's sites (the browser tag's keys and allowed origins)."""
        return await sites.outputs(await sites.list(principal), base_url_of(request))

    @post(guards=[requires_editor], responses=api_responses(403, body=True))
    async def create_site(
        self,
        data: JSONBody[SiteCreate],
        sites: NamedDependency[SiteService],
        principal: NamedDependency[Principal],
        request: Request[Any, Any, Any],
    ) -> Site:
        """Register a site: it gets a public key for the browser tag."""
        return site_out(await sites.create(principal, data), base_url_of(request))

    @get("/{site_id:uuid}", responses=api_responses(400, 404))
    async def get_site(
        self,
        site_id: FromPath[UUID],
        sites: NamedDependency[SiteService],
        principal: NamedDependency[Principal],
        request: Request[Any, Any, Any],
    ) -> Site:
        """Get one site by id."""
        return await sites.output(await sites.get(principal, site_id), base_url_of(request))

    @put("/{site_id:uuid}", guards=[requires_editor], responses=api_responses(403, 404, body=True))
    async def update_site(
        self,
        site_id: FromPath[UUID],
        data: JSONBody[SiteUpdate],
        sites: NamedDependency[SiteService],
        principal: NamedDependency[Principal],
        request: Request[Any, Any, Any],
    ) -> Site:
        """Change a site's name or allowed origins."""
        return await sites.output(await sites.update(principal, site_id, data), base_url_of(request))

    @delete("/{site_id:uuid}", guards=[requires_editor], responses=api_responses(400, 403, 404))
    async def delete_site(
        self, site_id: FromPath[UUID], sites: NamedDependency[SiteService], principal: NamedDependency[Principal]
    ) -> None:
        """Delete a site; its tag stops answering."""
        await sites.delete(principal, site_id)
