"""the public side of a site: serves the tag, decides for a page view, records its exposures and conversions."""

from __future__ import annotations

import asyncio
import hashlib
import math
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, cast
from urllib.parse import parse_qs, urlsplit

import msgspec
import rjsmin
from redis.exceptions import RedisError

from app.domain.decisions.services import DecisionService, is_holdout
from app.domain.tag.goals import goal_accepts, goal_for_tag
from app.domain.tag.schemas import DecideRequest, EventsRequest, EventsResponse, Skipped, TagDecision, TagEvent
from app.lib.errors import DomainError, InvalidInputError, NotFoundError, UnavailableError
from app.lib.tokens import SelectionClaims
from app.runtime.events import Command, dedup_ttl
from app.runtime.hotcache import ExperimentRuntime
from app.runtime.records import Event, SiteConfig
from app.runtime.rewards import check_reward

TAG_DIR = Path(__file__).resolve().parents[3] / "tag"
TAG_SOURCE = TAG_DIR / "src" / "levers.js"
LIVE_STATUSES = frozenset({"running", "paused", "completed"})
UTM = ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content")
_TABLET = re.compile(r"ipad|tablet|kindle|silk/|playbook|android(?!.*mobile)", re.IGNORECASE)
_MOBILE = re.compile(r"mobi|iphone|ipod|android|windows phone|blackberry|opera mini", re.IGNORECASE)


def eid_mark(experiment_id: str, eid: str) -> str:
    return hashlib.sha256(f"{experiment_id}:{eid}".encode()).hexdigest()[:40]


@lru_cache(maxsize=1)
def tag_template() -> str:
    minified: str = rjsmin.jsmin(TAG_SOURCE.read_text())
    return minified


def render_tag(config: Mapping[str, object]) -> str:
    # "</" could close a surrounding script element if the tag is ever inlined into a page
    return tag_template().replace("__LEVERS_CONFIG__", msgspec.json.encode(config).decode().replace("</", "<\\/"))


def device_of(user_agent: str) -> str:
    if _TABLET.search(user_agent):
        return "tablet"
    return "mobile" if _MOBILE.search(user_agent) else "desktop"


def visitor_attributes(body: DecideRequest, user_agent: str) -> dict[str, Any]:
    """what targeting rules look at: custom attributes flat by name, then the standard ones (which win):
    url, path, referrer, utm_source, utm_medium, utm_campaign, utm_term, utm_content, device, language,
    visitor_first_seen (unix seconds, from the tag's stored visitor id)."""
    url = urlsplit(body.u)
    query = parse_qs(url.query)
    # the country only ever comes from the cdn's header (app.domain.gates.attributes), never from the page
    attributes: dict[str, Any] = {
        name: value for name, value in body.a.items() if name not in ("country", "visitor_first_seen")
    }
    attributes.update(
        url=body.u,
        path=url.path or "/",
        referrer=body.r,
        device=device_of(user_agent),
        **{name: query.get(name, [""])[0] for name in UTM},
    )
    if body.l:  # else accept-language fills it in
        attributes["language"] = body.l.lower()
    if body.n > 0:  # when the tag first stored this visitor's id: new vs returning
        attributes["visitor_first_seen"] = body.n
    return attributes


def arm_by_reference(runtime: ExperimentRuntime, reference: str) -> int | None:
    for arm in runtime.config.arms:
        if arm.name == reference:
            return arm.index
    if reference.isdigit() and int(reference) < len(runtime.config.arms):
        return int(reference)
    return None


@dataclass(frozen=True)
class _Checked:
    index: int
    item: TagEvent
    claims: SelectionClaims
    runtime: ExperimentRuntime
    reward: float


class TagService:
    def __init__(self, decisions: DecisionService) -> None:
        self.decisions = decisions
        # the live experiments per site and their goals as the tag reads them, rebuilt whenever the hot cache
        # swaps in a new set of experiments: a decision no longer walks every tenant's experiments
        self._indexed: dict[str, ExperimentRuntime] | None = None
        self._by_site: dict[str, dict[str, ExperimentRuntime]] = {}
        self._goals: dict[str, dict[str, Any]] = {}

    def site(self, site_key: str) -> SiteConfig:
        site = self.decisions.cache.sites.get(site_key)
        if site is None:
            raise NotFoundError("unknown site key", field="site_key")
        return site

    async def site_or_refresh(self, site_key: str) -> SiteConfig:
        if site_key not in self.decisions.cache.sites:
            await self.decisions.cache.refresh_on_miss()
        return self.site(site_key)

    def experiments_of(self, site: SiteConfig) -> dict[str, ExperimentRuntime]:
        """the site's live experiments by key (shared: not to be changed by the caller)."""
        experiments = self.decisions.cache.experiments
        if experiments is not self._indexed:
            by_site: dict[str, dict[str, ExperimentRuntime]] = {}
            for r in experiments.values():
                if r.config.site_id and r.config.status in LIVE_STATUSES and r.config.context_dim is None:
                    by_site.setdefault(r.config.site_id, {})[r.config.key] = r
            self._goals = {
                r.config.id: goal_for_tag(r.config.goal) for keyed in by_site.values() for r in keyed.values()
            }
            self._by_site, self._indexed = by_site, experiments
        return self._by_site.get(site.id, {})

    def live_experiment_keys(self, site: SiteConfig) -> list[str]:
        return sorted(self.experiments_of(site))

    async def decide(
        self, site: SiteConfig, body: DecideRequest, request_id: str, attributes: Mapping[str, Any]
    ) -> list[TagDecision]:
        by_key = self.experiments_of(site)
        decisions: list[TagDecision] = []
        segment = self.decisions.visitor_segment(attributes)  # one visitor: worked out once for the page
        for key in dict.fromkeys(body.x):
            runtime = by_key.get(key)
            if runtime is not None:
                decisions.append(await self._decide_one(site, runtime, body, request_id, attributes, segment))
        if body.u:
            self.decisions.writer.site_seen(site.public_key, body.u)
        return decisions

    async def _decide_one(
        self,
        site: SiteConfig,
        runtime: ExperimentRuntime,
        body: DecideRequest,
        request_id: str,
        attributes: Mapping[str, Any],
        segment: tuple[str, ...],
    ) -> TagDecision:
        config = runtime.config
        goal = self._goals.get(config.id)
        if goal is None:
            goal = goal_for_tag(config.goal)
        forced = body.f.get(config.key)
        if forced is not None and (arm := arm_by_reference(runtime, forced)) is not None:
            # qa: shows the arm and hands out no token, so nothing can be recorded for it
            return TagDecision(config.key, arm, config.arms[arm].name, config.arms[arm].payload, "", "forced", goal, 0)
        decision = await self.decisions.select(
            site.organization_id,
            config.id,
            body.v,
            None,
            request_id,
            record=False,
            attributes=attributes,
            segment=segment,
        )
        arm, token, reason, expires = decision.arm.index, decision.token, decision.reason, decision.claims.x
        sticky = self._sticky(site, runtime, body.s.get(config.key)) if reason == "policy" else None
        if sticky is not None and sticky.a not in config.paused_arms:
            # a returning visitor keeps the arm (and the trial) of the token it still holds, unless it was paused
            arm, token, expires = sticky.a, body.s[config.key], sticky.x
        # paused and completed experiments serve without counting; gate-served traffic is counted apart
        counted = reason == "policy" or (is_holdout(reason) and reason != "forced")
        payload = config.arms[arm].payload
        ttl = max(0, expires - int(time.time()))
        token = token if counted else ""
        return TagDecision(config.key, arm, config.arms[arm].name, payload, token, reason, goal, ttl, config.guardrails)

    def _sticky(self, site: SiteConfig, runtime: ExperimentRuntime, token: str | None) -> SelectionClaims | None:
        if not token:
            return None
        try:
            claims = self.decisions.verify(site.organization_id, token)
        except InvalidInputError:
            return None
        if claims.e != runtime.config.id or claims.g or not 0 <= claims.a < len(runtime.config.arms):
            return None
        return claims

    async def record(self, site: SiteConfig, body: EventsRequest, request_id: str) -> EventsResponse:
        """checks every event first: one forged, malformed or expired token refuses the batch with nothing
        written; events of experiments no longer collecting (or another goal) are skipped and named."""
        checked: list[_Checked] = []
        skipped: list[Skipped] = []
        # a batch mostly carries one token several times (the exposure, then its conversion): checked once
        verified: dict[str, SelectionClaims] = {}
        for index, item in enumerate(body.e):
            claims = verified.get(item.t)
            if claims is None:
                try:
                    claims = verified[item.t] = self.decisions.verify(site.organization_id, item.t)
                except InvalidInputError as exc:
                    raise InvalidInputError(exc.message, field=f"e[{index}].t") from exc
            try:
                runtime = await self.decisions.runtime(site.organization_id, claims.e)
                checked.append(_Checked(index, item, claims, runtime, self._reward(runtime, item)))
            except DomainError as exc:
                skipped.append(Skipped(index=index, field=f"e[{index}].{exc.field or 't'}", message=exc.message))
        accepted = duplicates = 0
        writer = self.decisions.writer
        # every write of the batch rides one pipeline of the group commit, exposures before conversions: redis
        # runs them in that order, so a conversion finds the exposure queued ahead of it
        queued: list[tuple[_Checked, asyncio.Future[Any] | None]] = []
        for entry in sorted(checked, key=lambda c: c.item.k != "x"):
            command: Command | None
            if entry.item.k == "x":
                command = self._exposure(entry, request_id)
            elif entry.item.g and entry.item.g in entry.runtime.config.guardrails:
                command = self._guardrail(entry, request_id)
            else:
                command = self._conversion(entry, request_id)
            queued.append((entry, writer.enqueue(command) if command is not None else None))
        replies = await asyncio.gather(*(f for _, f in queued if f is not None), return_exceptions=True)
        failed = next((r for r in replies if isinstance(r, BaseException)), None)
        if isinstance(failed, RedisError | OSError):
            raise UnavailableError("the event store is unavailable; retry shortly") from failed
        if failed is not None:
            raise failed
        answers = iter(replies)
        for entry, future in queued:
            outcome = int(cast("int", next(answers))) if future is not None else 0
            if entry.item.k == "c" and future is not None and outcome < 0:
                message = "no exposure was recorded for this token; report its exposure first"
                skipped.append(Skipped(index=entry.index, field=f"e[{entry.index}].t", message=message))
                continue
            accepted += int(outcome > 0)
            duplicates += int(outcome <= 0)
        return EventsResponse(accepted=accepted, duplicates=duplicates, skipped=sorted(skipped, key=lambda s: s.index))

    def _reward(self, runtime: ExperimentRuntime, item: TagEvent) -> float:
        config = runtime.config
        if item.k == "x":
            if config.status != "running":
                raise InvalidInputError(f"the experiment is {config.status}; exposures are closed", field="t")
            return 0.0
        if config.status in {"completed", "draft"}:
            raise InvalidInputError(f"the experiment is {config.status}; conversions are closed", field="t")
        if item.g and item.g in config.guardrails:
            # a guardrail goal: a conversion counts 1, a value (revenue) its amount; it never trains the bandit
            value = item.v if item.v is not None else item.r
            if not math.isfinite(value):
                raise InvalidInputError("a guardrail value must be a finite number", field="v")
            return value
        if not goal_accepts(config.goal, item.g):
            raise InvalidInputError(f"the experiment's goal is not {item.g!r}", field="g")
        if config.reward_mode == "conversion":
            reward, field = item.r, "r"
            if not 0.0 <= reward <= 1.0:
                raise InvalidInputError("a conversion's reward must be between 0 and 1", field=field)
        else:
            reward, field = (item.v, "v") if item.v is not None else (item.r, "r")
        check_reward(runtime, reward, field)
        return reward

    def _guardrail(self, entry: _Checked, request_id: str) -> Command | None:
        claims = entry.claims
        if claims.g:
            return None  # traffic served outside the bandit is not compared on guardrails
        event = Event(
            kind="g",
            experiment=claims.e,
            arm=claims.a,
            reward=entry.reward,
            trials=0,
            ts=time.time(),
            propensity=claims.p,
            nonce=claims.n,
            request_id=request_id,
            label=entry.item.g,
            issued=float(claims.ts),
        )
        return self.decisions.writer.once_command(event, f"{entry.item.g}:{claims.n}", self._ttl(claims))

    def _exposure(self, entry: _Checked, request_id: str) -> Command:
        event = self.decisions.exposure_event(entry.runtime, entry.claims, request_id)
        return self.decisions.writer.once_command(event, entry.claims.n, self._ttl(entry.claims))

    def _conversion(self, entry: _Checked, request_id: str) -> Command:
        """answers 1 appended, 0 a repeat, -1 refused: the token's exposure was never recorded."""
        claims, writer = entry.claims, self.decisions.writer
        conversion = entry.runtime.config.reward_mode == "conversion"
        event = Event(
            kind="hf" if claims.g else "f",
            experiment=claims.e,
            arm=claims.a,
            reward=entry.reward,
            trials=0 if conversion else 1,
            ts=time.time(),
            propensity=claims.p,
            nonce=claims.n,
            request_id=request_id,
            label=claims.g,
            issued=float(claims.ts),
            eid=eid_mark(claims.e, entry.item.d) if entry.item.d else "",
            segment=claims.s,
        )
        return writer.conversion_command(event, claims.n, entry.item.d or "", self._ttl(claims))

    @staticmethod
    def _ttl(claims: SelectionClaims) -> int:
        return dedup_ttl(claims.x)
