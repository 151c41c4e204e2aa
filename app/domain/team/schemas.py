from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

import msgspec

RoleName = Literal["owner", "admin", "editor", "viewer"]


class MemberUpdate(msgspec.Struct, forbid_unknown_fields=True):
    role: RoleName


class Member(msgspec.Struct):
    id: UUID
    user_id: UUID
    email: str
    role: str
    joined_at: datetime


class InvitationCreate(msgspec.Struct, forbid_unknown_fields=True):
    role: RoleName = "editor"
    email: Annotated[str, msgspec.Meta(max_length=320)] | None = None


class Invitation(msgspec.Struct):
    id: UUID
    role: str
    email: str | None
    created_at: datetime
    expires_at: datetime
    accepted_at: datetime | None
    revoked_at: datetime | None


class InvitationCreated(Invitation):
    # the link is shown once: only its hash is stored
    url: str = ""
