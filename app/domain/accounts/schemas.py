from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

import msgspec

Email = Annotated[str, msgspec.Meta(min_length=3, max_length=320, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")]
Password = Annotated[str, msgspec.Meta(min_length=10, max_length=512)]
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]


class Registration(msgspec.Struct, forbid_unknown_fields=True):
    email: Email
    password: Password
    organization_name: Name | None = None


class Login(msgspec.Struct, forbid_unknown_fields=True):
    email: Annotated[str, msgspec.Meta(max_length=320)]
    password: Annotated[str, msgspec.Meta(max_length=512)]


class AccessToken(msgspec.Struct):
    access_token: str
    expires_in: int
    token_type: str = "bearer"


class Me(msgspec.Struct):
    id: UUID
    email: str
    organization_id: UUID
    organization_name: str
    role: str


class ApiKeyCreate(msgspec.Struct, forbid_unknown_fields=True):
    name: Name


class ApiKeyCreated(msgspec.Struct):
    id: UUID
    name: str
    prefix: str
    key: str
    created_at: datetime


class ApiKeyInfo(msgspec.Struct):
    id: UUID
    name: str
    prefix: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None
