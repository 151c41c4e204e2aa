from __future__ import annotations

import builtins
import re
from collections.abc import Sequence
from typing import Any
from uuid import UUID

import msgspec
from litestar import Request
from litestar.di import NamedDependency
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models import Arm, Experiment, Pool
from app.domain.pools.schemas import ArmIn, ArmOut, PoolCreate, PoolUpdate
from app.domain.pools.schemas import Pool as PoolOut
from app.domain.tag.targets import validate_target
from app.lib.auth import Principal
from app.lib.errors import ConflictError, InvalidInputError
from app.lib.tenancy import get_owned
from app.runtime.publish import Publisher

PAYLOAD_FIELDS = {
    "text": str,
    "html": str,
    "redirect": str,
    "class": str,
    "style": dict,
    "attributes": dict,
    "selector": str,  # css selector inside the marked element the changes apply to (tag/README.md)
    "target": str,  # css selector of the page element the experiment changes, no markup (visual editor)
    "hide": bool,  # the element is hidden (display: none)
}
MAX_JSON_BYTES = 8192
_ATTRIBUTE_NAME = re.compile(r"^[A-Za-z_:][A-Za-z0-9_:.-]{0,99}$")
_SCHEME = re.compile(r"^\s*([A-Za-z][A-Za-z0-9+.-]*):")
_SAFE_SCHEMES = {"http", "https", "mailto", "tel"}


def _unsafe_url(value: str) -> bool:
    """javascript:, data: and friends; relative urls and http(s) are fine."""
    scheme = _SCHEME.match(value)
    return scheme is not None and scheme.group(1).lower() not in _SAFE_SCHEMES


def _validate_changes(position: int, payload: dict[str, Any]) -> None:
    # the tag sanitises too; refusing here keeps unsafe changes out of the store and names the field
    field = f"arms[{position}].payload"
    if "target" in payload:
        validate_target(payload["target"], f"{field}.target")
    redirect = payload.get("redirect")
    if isinstance(redirect, str) and _unsafe_url(redirect):
        raise InvalidInputError("redirect must be an http(s) or relative url", field=f"{field}.redirect")
    for name, value in (payload.get("attributes") or {}).items():
        if not _ATTRIBUTE_NAME.match(name) or name.lower().startswith("on"):
            raise InvalidInputError(
                f"attribute {name!r} is not allowed (event handlers and odd names are refused)",
                field=f"{field}.attributes.{name}",
            )
        if not isinstance(value, str):
            raise InvalidInputError("attribute values must be strings", field=f"{field}.attributes.{name}")
        if name.lower() in {"href", "src", "action", "formaction"} and _unsafe_url(value):
            raise InvalidInputError(f"{name} must be an http(s) or relative url", field=f"{field}.attributes.{name}")
    for prop, value in (payload.get("style") or {}).items():
        if not isinstance(value, str | int | float) or "url(" in str(value).lower():
            raise InvalidInputError("style values must be plain strings or numbers", field=f"{field}.style.{prop}")


def validate_arms(arms: Sequence[ArmIn]) -> None:
    names: set[str] = set()
    for position, arm in enumerate(arms):
        if arm.name in names:
            raise InvalidInputError(f"arm name {arm.name!r} is used twice", field=f"arms[{position}].name")
        names.add(arm.name)
        for key, value in arm.payload.items():
            expected = PAYLOAD_FIELDS.get(key)
            if expected is None:
                allowed = ", ".join(sorted(PAYLOAD_FIELDS))
                raise InvalidInputError(f"unknown change {key!r}; use {allowed}", field=f"arms[{position}].payload")
            if not isinstance(value, expected):
                raise InvalidInputError(f"{key} must be a {expected.__name__}", field=f"arms[{position}].payload.{key}")
        _validate_changes(position, arm.payload)
        for label, blob in (("metadata", arm.metadata), ("payload", arm.payload)):
            if len(msgspec.json.encode(blob)) > MAX_JSON_BYTES:
                raise InvalidInputError(
                    f"{label} is larger than {MAX_JSON_BYTES} bytes", field=f"arms[{position}].{label}"
                )


def pool_out(pool: Pool) -> PoolOut:
    return PoolOut(
        id=pool.id,
        name=pool.name,
        arms=[ArmOut(index=a.index, name=a.name, metadata=a.arm_metadata, payload=a.payload) for a in pool.arms],
        created_at=pool.created_at,
        updated_at=pool.updated_at,
    )


def _arms(arms: Sequence[ArmIn]) -> list[Arm]:
    return [
        Arm(index=i, name=a.name, arm_metadata=dict(a.metadata), payload=dict(a.payload)) for i, a in enumerate(arms)
    ]


class PoolService:
    def __init__(self, session: AsyncSession, publisher: Publisher) -> None:
        self.session = session
        self.publisher = publisher

    async def list(self, principal: Principal) -> list[Pool]:
        rows = await self.session.scalars(
            select(Pool).where(Pool.organization_id == principal.organization_id).order_by(Pool.created_at)
        )
        return list(rows)

    async def get(self, principal: Principal, pool_id: UUID) -> Pool:
        return await get_owned(self.session, Pool, pool_id, principal, what="pool", field="pool_id")

    async def create(self, principal: Principal, data: PoolCreate) -> Pool:
        validate_arms(data.arms)
        pool = Pool(organization_id=principal.organization_id, name=data.name, arms=_arms(data.arms))
        self.session.add(pool)
        await self.session.flush()
        await self.session.refresh(pool, ["arms"])
        return pool

    async def update(self, principal: Principal, pool_id: UUID, data: PoolUpdate) -> Pool:
        pool = await self.get(principal, pool_id)
        if data.name is not msgspec.UNSET:
            pool.name = data.name
        if data.arms is not msgspec.UNSET:
            validate_arms(data.arms)
            in_use = await self._experiments_using(pool.id)
            if in_use and len(data.arms) != len(pool.arms):
                raise ConflictError(
                    "the number of arms can't change while experiments use this pool; create a new pool",
                    field="arms",
                )
            if in_use:
                for arm, new in zip(pool.arms, data.arms, strict=True):
                    arm.name, arm.arm_metadata, arm.payload = new.name, dict(new.metadata), dict(new.payload)
            else:
                pool.arms.clear()
                await self.session.flush()
                pool.arms.extend(_arms(data.arms))
        await self.session.flush()
        await self.session.refresh(pool, ["arms", "updated_at"])
        for experiment in await self._experiments_using(pool.id):
            await self.publisher.experiment(experiment)
        return pool

    async def delete(self, principal: Principal, pool_id: UUID) -> None:
        pool = await self.get(principal, pool_id)
        count = await self.session.scalar(select(func.count()).where(Experiment.pool_id == pool.id))
        if count:
            raise ConflictError(f"{count} experiment(s) use this pool; delete them first", field="pool_id")
        await self.session.delete(pool)
        await self.session.flush()

    async def _experiments_using(self, pool_id: UUID) -> builtins.list[Experiment]:
        return list(await self.session.scalars(select(Experiment).where(Experiment.pool_id == pool_id)))


def provide_pool_service(db_session: NamedDependency[AsyncSession], request: Request[Any, Any, Any]) -> PoolService:
    return PoolService(db_session, request.app.state.publisher)
