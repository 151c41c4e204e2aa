from __future__ import annotations

from typing import Any
from uuid import uuid4

import msgspec
from litestar import Controller, Request, post
from litestar.di import NamedDependency, Provide
from litestar.params import JSONBody
from litestar.status_codes import HTTP_200_OK, HTTP_202_ACCEPTED

from app.domain.decisions.schemas import FeedbackAccepted, FeedbackRequest, SelectedArm, SelectRequest, SelectResponse
from app.domain.decisions.services import DecisionService
from app.domain.gates.attributes import with_request_attributes
from app.lib.auth import Principal, requires_editor
from app.lib.deps import provide_principal
from app.lib.errors import InvalidInputError
from app.lib.openapi import api_responses

# a visitor's free-form attributes: far more than targeting needs, far less than a body could carry
MAX_METADATA_BYTES = 16 * 1024


def provide_decisions(request: Request[Any, Any, Any]) -> DecisionService:
    decisions: DecisionService = request.app.state.decisions
    return decisions


def request_id_of(request: Request[Any, Any, Any]) -> str:
    return request.headers.get("x-request-id", "")[:64] or uuid4().hex


class DecisionController(Controller):
    tags = ["decisions"]
    # select and feedback record data (exposures, rewards): viewers only read
    guards = [requires_editor]
    dependencies = {
        "decisions": Provide(provide_decisions, sync_to_thread=False),
        "principal": Provide(provide_principal, sync_to_thread=False),
    }

    @post("/select", status_code=HTTP_200_OK, responses=api_responses(403, 404, 503, body=True))
    async def select(
        self,
        data: JSONBody[SelectRequest],
        decisions: NamedDependency[DecisionService],
        principal: NamedDependency[Principal],
        request: Request[Any, Any, Any],
    ) -> SelectResponse:
        """Choose an arm of a running experiment for a visitor, with a selection token to report its reward."""
        request_id = request_id_of(request)
        if data.context.metadata and len(msgspec.json.encode(data.context.metadata)) > MAX_METADATA_BYTES:
            raise InvalidInputError(f"must encode to at most {MAX_METADATA_BYTES} bytes", field="context.metadata")
        # targeting sees context.metadata flat, plus country and language from the request where not given
        attributes = with_request_attributes(
            data.context.metadata, request.headers, request.app.state.settings.country_header
        )
        decision = await decisions.select(
            str(principal.organization_id),
            str(data.experiment_id),
            data.context.id or "",
            data.context.vector,
            request_id,
            attributes=attributes,
            force_arm=data.force_arm,
        )
        arm = decision.arm
        return SelectResponse(
            arm=SelectedArm(name=arm.name, index=arm.index, metadata=arm.metadata),
            selection_token=decision.token,
            request_id=request_id,
            reason=decision.reason,
        )

    @post("/feedback", status_code=HTTP_202_ACCEPTED, responses=api_responses(403, 404, 503, body=True))
    async def feedback(
        self,
        data: JSONBody[FeedbackRequest],
        decisions: NamedDependency[DecisionService],
        principal: NamedDependency[Principal],
        request: Request[Any, Any, Any],
    ) -> FeedbackAccepted:
        """Report the reward of a selection by its token; a token's second report is accepted as a duplicate."""
        request_id = request_id_of(request)
        organization = str(principal.organization_id)
        if data.goal is not None:
            new = await decisions.guardrail_feedback(
                organization, data.selection_token, data.goal, data.reward, request_id
            )
        else:
            new = await decisions.feedback(organization, data.selection_token, data.reward, request_id)
        return FeedbackAccepted(accepted=True, duplicate=not new, request_id=request_id)
