from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

import msgspec


class SelectContext(msgspec.Struct, forbid_unknown_fields=True):
    id: Annotated[str, msgspec.Meta(max_length=256)] | None = None
    vector: Annotated[list[float], msgspec.Meta(max_length=256)] | None = None
    # free-form attributes for targeting: bounded in keys here, in size by the select handler, in depth by the
    # request guard (app.lib.request_guard)
    metadata: Annotated[dict[Annotated[str, msgspec.Meta(max_length=100)], Any], msgspec.Meta(max_length=64)] = {}


class SelectRequest(msgspec.Struct, forbid_unknown_fields=True):
    experiment_id: UUID
    context: SelectContext = msgspec.field(default_factory=SelectContext)
    # serve this arm (e.g. a qa preview): labelled "forced", never trains the bandit
    force_arm: Annotated[int, msgspec.Meta(ge=0)] | None = None


class SelectedArm(msgspec.Struct):
    name: str
    index: int
    metadata: dict[str, Any]


class SelectResponse(msgspec.Struct):
    arm: SelectedArm
    selection_token: str
    request_id: str
    reason: str


class FeedbackRequest(msgspec.Struct, forbid_unknown_fields=True):
    selection_token: Annotated[str, msgspec.Meta(max_length=2048)]
    reward: float
    # one of the experiment's guardrail goals: the reward is counted for that guardrail, not the bandit's goal
    goal: Annotated[str, msgspec.Meta(min_length=1, max_length=200)] | None = None


class FeedbackAccepted(msgspec.Struct):
    accepted: bool
    duplicate: bool
    request_id: str
