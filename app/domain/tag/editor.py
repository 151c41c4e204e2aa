"""the visual editor's and the install check's public side: the editor script, the single-use edit token traded
for a short editor session, saving an experiment's changes, and the install check's report.

no cookie is involved (the tag's requests omit credentials), so a forged cross-site request has nothing ambient
to ride on: the token or session travels in the body, and the origin must be one the site allows (the check
alone accepts a refused origin, since finding one is its point, and only with its own single-use token).
"""

from __future__ import annotations

import time
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any
from uuid import UUID

import msgspec
import rjsmin
from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models import Experiment, Role
from app.domain.experiments.schemas import ExperimentUpdate
from app.domain.experiments.services import ExperimentService
from app.domain.pools.schemas import ArmIn, PoolUpdate
from app.domain.pools.services import PoolService
from app.domain.tag.api import MAX_TAG_BODY, cors_headers, decode
from app.domain.tag.goals import validate_goal
from app.domain.tag.origins import origin_of
from app.domain.tag.services import TAG_DIR, TagService
from app.domain.tag.targets import validate_target
from app.lib.auth import Principal
from app.lib.errors import (
    PROBLEM_JSON,
    DomainError,
    FieldError,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
    Problem,
)
from app.lib.openapi import TEXT_JSON, operation, problem_responses
from app.runtime.editing import EditingStore

EDITOR_SOURCE = TAG_DIR / "src" / "editor.js"
TOKEN_TTL_SECONDS = 10 * 60
SESSION_TTL_SECONDS = 30 * 60
CHECK_TTL_SECONDS = 10 * 60
REPORT_TTL_SECONDS = 3600
Token = Annotated[str, msgspec.Meta(min_length=10, max_length=100)]


class EditOpen(msgspec.Struct, forbid_unknown_fields=True):
    token: Token


class EditArm(msgspec.Struct, forbid_unknown_fields=True):
    payload: dict[str, Any] = {}


class EditSave(msgspec.Struct, forbid_unknown_fields=True):
    session: Token
    target: str
    arms: Annotated[list[EditArm], msgspec.Meta(min_length=2, max_length=50)]
    goal: dict[str, Any] = {}


Key = Annotated[str, msgspec.Meta(max_length=100)]


class CheckReport(msgspec.Struct, forbid_unknown_fields=True):
    token: Token
    url: Annotated[str, msgspec.Meta(max_length=2000)] = ""
    marked: Annotated[list[Key], msgspec.Meta(max_length=100)] = []
    decided: Annotated[list[Key], msgspec.Meta(max_length=100)] = []
    consent: Annotated[str, msgspec.Meta(pattern="^(granted|denied|waiting)$")] = "waiting"
    mode: Annotated[str, msgspec.Meta(max_length=20)] = ""
    reveal_ms: Annotated[float, msgspec.Meta(ge=0, le=600_000)] | None = None
    automation: bool = False


open_decoder = msgspec.json.Decoder(EditOpen)
save_decoder = msgspec.json.Decoder(EditSave)
check_decoder = msgspec.json.Decoder(CheckReport)


@lru_cache(maxsize=1)
def editor_script() -> str:
    minified: str = rjsmin.jsmin(Path(EDITOR_SOURCE).read_text())
    return minified


def _problem(exc: DomainError, headers: dict[str, str]) -> Response[Any]:
    errors = [FieldError(field=exc.field, message=exc.message)] if exc.field else []
    body = Problem(type="about:blank", title=exc.title, status=exc.status_code, detail=exc.message, errors=errors)
    return Response(body, status_code=exc.status_code, media_type=PROBLEM_JSON, headers=headers)


def editor_view(experiment: Experiment) -> dict[str, Any]:
    """what the editor needs of an experiment: its arms' changes (without the target) and the goal."""
    arms = experiment.pool.arms
    target = next((a.payload.get("target") for a in arms if a.payload.get("target")), "")
    return {
        "key": experiment.key,
        "name": experiment.name,
        "status": experiment.status.value,
        "target": target,
        "goal": experiment.goal or {},
        "arms": [{"name": a.name, "payload": {k: v for k, v in a.payload.items() if k != "target"}} for a in arms],
    }


async def save_changes(
    session: AsyncSession, request: Request[Any, Any, Any], grant: dict[str, Any], body: EditSave
) -> Experiment:
    """writes the editor's changes through the same services (and checks) as the api."""
    principal = Principal(
        organization_id=UUID(grant["organization_id"]), role=Role.EDITOR, user_id=UUID(grant["user_id"])
    )
    publisher = request.app.state.publisher
    experiments = ExperimentService(session, publisher)
    experiment = await experiments.get(principal, UUID(grant["experiment_id"]))
    target = validate_target(body.target, "target")
    # every check before the first write: the pool update publishes at once
    validate_goal(body.goal)
    arms = experiment.pool.arms
    if len(body.arms) != len(arms):
        raise InvalidInputError(f"the experiment has {len(arms)} arms; send a change for each", field="arms")
    new_arms = [
        ArmIn(name=arm.name, metadata=dict(arm.arm_metadata), payload={**edit.payload, "target": target})
        for arm, edit in zip(arms, body.arms, strict=True)
    ]
    await PoolService(session, publisher).update(principal, experiment.pool_id, PoolUpdate(arms=new_arms))
    await experiments.update(principal, experiment.id, ExperimentUpdate(goal=body.goal))
    return experiment


def _origin(request: Request[Any, Any, Any]) -> str:
    origin = request.headers.get("origin")
    if not origin:
        raise PermissionDeniedError("the editor only answers pages (an Origin header)", field="origin")
    return origin


class EditorController(Controller):
    tags = ["public tag"]

    @get("/t/editor.js", media_type="application/javascript", responses=problem_responses())
    async def script(self) -> Response[str]:
        """the editor and install check script: loaded by the tag only on ?levers_edit or ?levers_check."""
        return Response(
            editor_script(),
            media_type="application/javascript; charset=utf-8",
            headers={"Cache-Control": "public, max-age=300"},
        )

    @post(
        "/p/{site_key:str}/edit/open",
        status_code=200,
        request_max_body_size=MAX_TAG_BODY,
        operation_class=operation(EditOpen, TEXT_JSON),
        responses=problem_responses(400, 403, 404, 413, 422, 429, 503),
    )
    async def open(
        self, site_key: FromPath[str], request: Request[Any, Any, Any], db_session: NamedDependency[AsyncSession]
    ) -> Response[Any]:
        """trades the single-use edit token of the link for an editor session on this experiment."""
        tag: TagService = request.app.state.tag
        site = await tag.site_or_refresh(site_key)
        origin = _origin(request)
        headers = cors_headers(site, origin)
        store: EditingStore = request.app.state.editing
        try:
            body = decode(open_decoder, await request.body())
            grant = await store.take("token", body.token)
            if grant is None or grant["site_key"] != site.public_key:
                raise PermissionDeniedError(
                    "this edit link was used or has expired: open the editor again from the experiment's page",
                    field="token",
                )
            if grant["origin"] != origin_of(origin):
                raise PermissionDeniedError(f"this edit link is for {grant['origin']}", field="origin")
            experiment = await ExperimentService(db_session, request.app.state.publisher).get(
                Principal(UUID(grant["organization_id"]), Role.EDITOR), UUID(grant["experiment_id"])
            )
            session = await store.issue("session", grant, SESSION_TTL_SECONDS)
        except DomainError as exc:
            return _problem(exc, headers)
        answer = {"session": session, "expires_in": SESSION_TTL_SECONDS, "experiment": editor_view(experiment)}
        return Response(answer, headers=headers)

    @post(
        "/p/{site_key:str}/edit/save",
        status_code=200,
        request_max_body_size=MAX_TAG_BODY,
        operation_class=operation(EditSave, TEXT_JSON),
        responses=problem_responses(400, 403, 404, 413, 422, 429, 503),
    )
    async def save(
        self, site_key: FromPath[str], request: Request[Any, Any, Any], db_session: NamedDependency[AsyncSession]
    ) -> Response[Any]:
        """saves the arms' changes and the goal made in the editor; each bad field is a 4xx naming it."""
        tag: TagService = request.app.state.tag
        site = await tag.site_or_refresh(site_key)
        origin = _origin(request)
        headers = cors_headers(site, origin)
        store: EditingStore = request.app.state.editing
        try:
            body = decode(save_decoder, await request.body())
            grant = await store.peek("session", body.session)
            if grant is None or grant["site_key"] != site.public_key or grant["origin"] != origin_of(origin):
                raise PermissionDeniedError(
                    "the editor session has expired: open the editor again from the experiment's page",
                    field="session",
                )
            experiment = await save_changes(db_session, request, grant, body)
        except DomainError as exc:
            await db_session.rollback()
            return _problem(exc, headers)
        return Response({"saved": True, "experiment": editor_view(experiment)}, headers=headers)

    @post(
        "/p/{site_key:str}/check",
        status_code=200,
        request_max_body_size=MAX_TAG_BODY,
        operation_class=operation(CheckReport, TEXT_JSON),
        responses=problem_responses(400, 403, 404, 413, 422, 429, 503),
    )
    async def check(self, site_key: FromPath[str], request: Request[Any, Any, Any]) -> Response[Any]:
        """the install check's report from the page; any origin may send it, with the check's single-use token."""
        tag: TagService = request.app.state.tag
        site = await tag.site_or_refresh(site_key)
        origin = _origin(request)
        store: EditingStore = request.app.state.editing
        # the page may read the answer whatever its origin: the token proves who asked
        headers = {"Access-Control-Allow-Origin": origin, "Vary": "Origin"}
        try:
            body = decode(check_decoder, await request.body())
            grant = await store.take("check", body.token)
            if grant is None or grant["site_key"] != site.public_key:
                raise NotFoundError("this install check was used or has expired: start it again", field="token")
        except DomainError as exc:
            return _problem(exc, headers)
        live = tag.live_experiment_keys(site)
        report = {
            **msgspec.to_builtins(body),
            "token": "",
            "status": "done",
            "origin": origin_of(origin),
            "allowed": origin_of(origin) in site.allowed_origins,
            "live": live,
            "at": time.time(),
        }
        await store.put("check", grant["site_id"], report, REPORT_TTL_SECONDS)
        return Response({"received": True}, headers=headers)
