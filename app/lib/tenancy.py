"""rows looked up by id within the caller's organization: another tenant's id is simply not found."""

from __future__ import annotations

from typing import Any, TypeVar
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.lib.auth import Principal
from app.lib.errors import NotFoundError

Row = TypeVar("Row")


async def get_owned(
    session: AsyncSession, model: type[Row], row_id: UUID, principal: Principal, *, what: str, field: str
) -> Row:
    table: Any = model
    row = await session.scalar(
        select(model).where(table.id == row_id, table.organization_id == principal.organization_id)
    )
    if row is None:
        raise NotFoundError(f"no such {what}", field=field)
    return row
