"""the first-run checklist: add a site → install → check → create → start, each step read from the data.

nothing is ticked by a click: a step is done when the organization's rows show it (a site exists, the tag has
been heard from, ...), so the list follows what really happened, also when a teammate or the api did it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from sqlalchemy import exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models import Experiment, ExperimentStatus
from app.domain.sites.schemas import Site as SiteOut
from app.domain.sites.services import SiteService
from app.lib.auth import Principal
from app.runtime.publish import Publisher

# "check" wants the tag heard from this recently, from an origin the site still allows
CHECK_WINDOW = timedelta(days=7)
STARTED = (ExperimentStatus.RUNNING, ExperimentStatus.PAUSED, ExperimentStatus.COMPLETED)


@dataclass(frozen=True)
class Step:
    key: str
    title: str
    done: bool
    # what to do next, while not done
    hint: str
    href: str


@dataclass(frozen=True)
class Checklist:
    steps: list[Step]

    @property
    def complete(self) -> bool:
        return all(step.done for step in self.steps)

    @property
    def done_count(self) -> int:
        return sum(step.done for step in self.steps)

    @property
    def next_step(self) -> Step | None:
        return next((step for step in self.steps if not step.done), None)


def _origin(url: str | None) -> str:
    if not url:
        return ""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower() if parts.scheme and parts.netloc else ""


def site_checks_out(site: SiteOut, now: datetime) -> bool:
    """the tag answered a page of this site lately, from an origin the site allows today."""
    if site.last_seen_at is None or now - site.last_seen_at > CHECK_WINDOW:
        return False
    return _origin(site.last_seen_url) in {o.rstrip("/").lower() for o in site.allowed_origins}


async def checklist(session: AsyncSession, publisher: Publisher, principal: Principal) -> Checklist:
    now = datetime.now(UTC)
    organization_id = principal.organization_id
    service = SiteService(session, publisher)
    # with the tag's latest sighting, which redis holds until housekeeping copies it to postgres
    sites = await service.outputs(await service.list(principal), base_url="")
    created = await session.scalar(select(exists().where(Experiment.organization_id == organization_id)))
    started = await session.scalar(
        select(exists().where(Experiment.organization_id == organization_id, Experiment.status.in_(STARTED)))
    )
    draft = await session.scalar(
        select(Experiment.id)
        .where(Experiment.organization_id == organization_id, Experiment.status == ExperimentStatus.DRAFT)
        .order_by(Experiment.created_at.desc())
        .limit(1)
    )
    steps = [
        Step("site", "Add a site", bool(sites), "Name your website and the addresses its pages load from.", "/sites"),
        Step(
            "install",
            "Install the tag",
            any(s.last_seen_at is not None for s in sites),
            "Put the tag on your pages (Google Tag Manager or your page's head); done once a page has loaded it.",
            "/sites",
        ),
        Step(
            "check",
            "Check the install",
            any(site_checks_out(s, now) for s in sites),
            "Open one of your pages: done when the tag has reached Levers from an allowed address in the last 7 days.",
            "/sites",
        ),
        Step(
            "create",
            "Create an experiment",
            bool(created),
            "Pick an element, write the variants, choose the goal.",
            "/experiments/new",
        ),
        Step(
            "start",
            "Start it",
            bool(started),
            "Preview each variant on your site, then press Start.",
            f"/experiments/{draft}" if draft else "/experiments",
        ),
    ]
    return Checklist(steps)
