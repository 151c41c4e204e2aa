"""select and feedback as lean routes (app.lib.hot_http): the controller's work without litestar's per-request
machinery. the controller (api.py) stays: it documents the routes and answers whatever these hand back to it
(a body that does not decode strictly, a failed authentication), so those answers keep one source."""

from __future__ import annotations

import functools

import msgspec
from litestar.exceptions import NotAuthorizedException

from app.db.models import Role
from app.domain.decisions.api import MAX_METADATA_BYTES
from app.domain.decisions.schemas import FeedbackAccepted, FeedbackRequest, SelectedArm, SelectRequest, SelectResponse
from app.domain.decisions.services import DecisionService
from app.domain.gates.attributes import with_request_attributes
from app.lib.auth import jwt_principal, note_key_use
from app.lib.errors import InvalidInputError
from app.lib.hot_http import Fallback, HotRequest, HotResponse, HotRoute, strict_decode
from app.lib.tokens import API_KEY_PREFIX, hash_api_key

# strict: a body that only passes by coercion ("reward": "1") is refused by the request guard, in litestar
_select = msgspec.json.Decoder(SelectRequest, strict=True)
_feedback = msgspec.json.Decoder(FeedbackRequest, strict=True)
_encode = msgspec.json.Encoder().encode
# a caller sends the same key on every request: its sha-256 once, not per request
_key_hash = functools.lru_cache(maxsize=1024)(hash_api_key)


async def organization_of(request: HotRequest) -> str:
    """the caller's organization when it may record (editor or higher: api keys are editors); Fallback
    otherwise, so litestar's auth middleware and role guard answer the 401 / 403 as for any other route."""
    header = request.headers.get("authorization", "")
    scheme, _, credential = header.partition(" ")
    if scheme.lower() != "bearer" or not credential:
        raise Fallback
    credential = credential.strip()
    state = request.app.state
    if credential.startswith(API_KEY_PREFIX):
        cache = state.hot_cache
        config = cache.api_keys.get(_key_hash(credential))
        if config is None:
            raise Fallback  # litestar's middleware refreshes the cache once and answers
        await note_key_use(cache, config.id)
        return str(config.organization_id)
    try:
        principal = jwt_principal(state, credential)
    except NotAuthorizedException as exc:
        raise Fallback from exc
    if not principal.can(Role.EDITOR):
        raise Fallback
    return str(principal.organization_id)


async def select(request: HotRequest) -> HotResponse:
    organization = await organization_of(request)
    data: SelectRequest = strict_decode(_select, request.body, request.headers.get("content-type", ""))
    state = request.app.state
    decisions: DecisionService = state.decisions
    metadata = data.context.metadata
    if metadata and len(_encode(metadata)) > MAX_METADATA_BYTES:
        raise InvalidInputError(f"must encode to at most {MAX_METADATA_BYTES} bytes", field="context.metadata")
    attributes = with_request_attributes(metadata, request.headers, state.settings.country_header)
    decision = await decisions.select(
        organization,
        str(data.experiment_id),
        data.context.id or "",
        data.context.vector,
        request.request_id,
        attributes=attributes,
        force_arm=data.force_arm,
    )
    arm = decision.arm
    answer = SelectResponse(
        arm=SelectedArm(name=arm.name, index=arm.index, metadata=arm.metadata),
        selection_token=decision.token,
        request_id=request.request_id,
        reason=decision.reason,
    )
    return HotResponse(200, _encode(answer))


async def feedback(request: HotRequest) -> HotResponse:
    organization = await organization_of(request)
    data: FeedbackRequest = strict_decode(_feedback, request.body, request.headers.get("content-type", ""))
    decisions: DecisionService = request.app.state.decisions
    request_id = request.request_id
    if data.goal is not None:
        new = await decisions.guardrail_feedback(organization, data.selection_token, data.goal, data.reward, request_id)
    else:
        new = await decisions.feedback(organization, data.selection_token, data.reward, request_id)
    return HotResponse(202, _encode(FeedbackAccepted(accepted=True, duplicate=not new, request_id=request_id)))


ROUTES: dict[str, HotRoute] = {
    "/api/v1/select": HotRoute("POST", "/api/v1/select", select),
    "/api/v1/feedback": HotRoute("POST", "/api/v1/feedback", feedback),
}
