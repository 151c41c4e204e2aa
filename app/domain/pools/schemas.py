from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

import msgspec

Name = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]


class ArmIn(msgspec.Struct, forbid_unknown_fields=True):
    name: Name
    metadata: dict[str, Any] = {}
    # what the browser tag applies when this arm wins, e.g. {"text": "Buy now"}
    payload: dict[str, Any] = {}


class PoolCreate(msgspec.Struct, forbid_unknown_fields=True):
    name: Name
    arms: Annotated[list[ArmIn], msgspec.Meta(min_length=2, max_length=50)]


class PoolUpdate(msgspec.Struct, forbid_unknown_fields=True):
    name: Name | msgspec.UnsetType = msgspec.UNSET
    arms: Annotated[list[ArmIn], msgspec.Meta(min_length=2, max_length=50)] | msgspec.UnsetType = msgspec.UNSET


class ArmOut(msgspec.Struct):
    index: int
    name: str
    metadata: dict[str, Any]
    payload: dict[str, Any]


class Pool(msgspec.Struct):
    id: UUID
    name: str
    arms: list[ArmOut]
    created_at: datetime
    updated_at: datetime
