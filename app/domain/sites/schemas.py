from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

import msgspec

Name = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
Origin = Annotated[str, msgspec.Meta(max_length=300, pattern=r"^https?://[A-Za-z0-9.\-\[\]:]+/?$")]


class SiteCreate(msgspec.Struct, forbid_unknown_fields=True):
    name: Name
    allowed_origins: Annotated[list[Origin], msgspec.Meta(max_length=50)] = []


class SiteUpdate(msgspec.Struct, forbid_unknown_fields=True):
    name: Name | msgspec.UnsetType = msgspec.UNSET
    allowed_origins: Annotated[list[Origin], msgspec.Meta(max_length=50)] | msgspec.UnsetType = msgspec.UNSET


class Site(msgspec.Struct):
    id: UUID
    name: str
    public_key: str
    allowed_origins: list[str]
    tag_url: str
    snippet: str
    last_seen_url: str | None
    last_seen_at: datetime | None
    created_at: datetime
