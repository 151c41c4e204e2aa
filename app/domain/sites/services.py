from __future__ import annotations

import builtins
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import msgspec
from litestar import Request
from litestar.di import NamedDependency
from redis.exceptions import RedisError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models import Site
from app.domain.sites.schemas import Site as SiteOut
from app.domain.sites.schemas import SiteCreate, SiteUpdate
from app.domain.tag.targets import FAILSAFE_CSS
from app.lib.auth import Principal
from app.lib.tenancy import get_owned
from app.lib.tokens import new_site_key
from app.runtime.publish import Publisher


def normalise_origins(origins: list[str]) -> list[str]:
    return sorted({origin.rstrip("/").lower() for origin in origins})


def tag_url(base_url: str, site: Site) -> str:
    return f"{base_url}/t/{site.public_key}.js"


def gtm_snippet(base_url: str, site: Site) -> str:
    """the custom html tag a marketer pastes into google tag manager (trigger: initialization - all pages).

    it queues calls made before the tag loads, hides only marked elements with css that reveals them by itself
    after 2 s (the failsafe when the tag never loads), and loads the tag with the page's csp nonce.
    """
    return (
        "<script>\n"
        "  (function (w, d, s) {\n"
        "    w.levers = w.levers || function () { (w.levers.q = w.levers.q || []).push(arguments); };\n"
        "    var n = d.querySelector('[nonce]'), c = n && (n.nonce || n.getAttribute('nonce'));\n"
        "    var st = d.createElement('style'); if (c) st.nonce = c;\n"
        f"    st.textContent = '{FAILSAFE_CSS}';\n"
        "    d.head.appendChild(st);\n"
        "    var js = d.createElement('script'); js.async = true; js.src = s; if (c) js.nonce = c;\n"
        "    d.head.appendChild(js);\n"
        f"  }})(window, document, '{tag_url(base_url, site)}');\n"
        "</script>"
    )


class SeenNote(msgspec.Struct):
    """what the tag endpoint notes in redis each time a site's tag asks for decisions: the page and when."""

    url: str = ""
    at: float = 0.0


seen_decoder = msgspec.json.Decoder(SeenNote)


def site_out(site: Site, base_url: str, seen: SeenNote | None = None) -> SiteOut:
    last_url, last_at = site.last_seen_url, site.last_seen_at
    if seen is not None and seen.at > 0:
        noted = datetime.fromtimestamp(seen.at, UTC)
        if last_at is None or noted > last_at:
            last_url, last_at = seen.url or None, noted
    return SiteOut(
        id=site.id,
        name=site.name,
        public_key=site.public_key,
        allowed_origins=list(site.allowed_origins),
        tag_url=tag_url(base_url, site),
        snippet=gtm_snippet(base_url, site),
        last_seen_url=last_url,
        last_seen_at=last_at,
        created_at=site.created_at,
    )


class SiteService:
    def __init__(self, session: AsyncSession, publisher: Publisher) -> None:
        self.session = session
        self.publisher = publisher

    async def list(self, principal: Principal) -> list[Site]:
        rows = await self.session.scalars(
            select(Site).where(Site.organization_id == principal.organization_id).order_by(Site.created_at)
        )
        return list(rows)

    async def last_seen(self, sites: Sequence[Site]) -> dict[str, SeenNote]:
        """where and when each site's tag last ran, by public key; nothing while redis is unreachable."""
        if not sites:
            return {}
        field_names = [site.public_key for site in sites]
        try:
            raws = await self.publisher.store.site_sightings(field_names)
        except (RedisError, OSError):
            return {}
        notes: dict[str, SeenNote] = {}
        for key, raw in zip(field_names, raws, strict=True):
            if raw:
                try:
                    notes[key] = seen_decoder.decode(raw)
                except msgspec.DecodeError:
                    continue  # a note this version can't read is as good as none
        return notes

    async def outputs(self, sites: Sequence[Site], base_url: str) -> builtins.list[SiteOut]:
        """the sites as the api and the sites page show them, with their tag's last sighting."""
        seen = await self.last_seen(sites)
        return [site_out(site, base_url, seen.get(site.public_key)) for site in sites]

    async def output(self, site: Site, base_url: str) -> SiteOut:
        return (await self.outputs([site], base_url))[0]

    async def get(self, principal: Principal, site_id: UUID) -> Site:
        return await get_owned(self.session, Site, site_id, principal, what="site", field="site_id")

    async def create(self, principal: Principal, data: SiteCreate) -> Site:
        site = Site(
            organization_id=principal.organization_id,
            name=data.name,
            public_key=new_site_key(),
            allowed_origins=normalise_origins(data.allowed_origins),
        )
        self.session.add(site)
        await self.session.flush()
        await self.publisher.site(site)
        return site

    async def update(self, principal: Principal, site_id: UUID, data: SiteUpdate) -> Site:
        site = await self.get(principal, site_id)
        if data.name is not msgspec.UNSET:
            site.name = data.name
        if data.allowed_origins is not msgspec.UNSET:
            site.allowed_origins = normalise_origins(data.allowed_origins)
        await self.session.flush()
        await self.publisher.site(site)
        return site

    async def delete(self, principal: Principal, site_id: UUID) -> None:
        site = await self.get(principal, site_id)
        await self.session.delete(site)
        await self.session.flush()
        await self.publisher.remove_site(site.public_key)


def provide_site_service(db_session: NamedDependency[AsyncSession], request: Request[Any, Any, Any]) -> SiteService:
    return SiteService(db_session, request.app.state.publisher)


def base_url_of(request: Request[Any, Any, Any]) -> str:
    configured = request.app.state.settings.base_url
    return configured or str(request.base_url).rstrip("/")
