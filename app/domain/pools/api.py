from __future__ import annotations

from uuid import UUID

from litestar import Controller, delete, get, post, put
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, JSONBody

from app.domain.pools.schemas import Pool, PoolCreate, PoolUpdate
from app.domain.pools.services import PoolService, pool_out, provide_pool_service
from app.lib.auth import Principal, requires_editor
from app.lib.deps import provide_principal
from app.lib.openapi import api_responses


class PoolController(Controller):
    path = "/pools"
    tags = ["pools"]
    dependencies = {
        "pools": Provide(provide_pool_service, sync_to_thread=False),
        "principal": Provide(provide_principal, sync_to_thread=False),
    }

    @get(responses=api_responses())
    async def list_pools(
        self, pools: NamedDependency[PoolService], principal: NamedDependency[Principal]
    ) -> list[Pool]:
        """List the organization's arm pools."""
        return [pool_out(p) for p in await pools.list(principal)]

    @post(guards=[requires_editor], responses=api_responses(403, body=True))
    async def create_pool(
        self, data: JSONBody[PoolCreate], pools: NamedDependency[PoolService], principal: NamedDependency[Principal]
    ) -> Pool:
        """Create a pool of arms that experiments draw from."""
        return pool_out(await pools.create(principal, data))

    @get("/{pool_id:uuid}", responses=api_responses(400, 404))
    async def get_pool(
        self, pool_id: FromPath[UUID], pools: NamedDependency[PoolService], principal: NamedDependency[Principal]
    ) -> Pool:
        """Get one pool by id."""
        return pool_out(await pools.get(principal, pool_id))

    @put("/{pool_id:uuid}", guards=[requires_editor], responses=api_responses(403, 404, 409, body=True))
    async def update_pool(
        self,
        pool_id: FromPath[UUID],
        data: JSONBody[PoolUpdate],
        pools: NamedDependency[PoolService],
        principal: NamedDependency[Principal],
    ) -> Pool:
        """Replace a pool's name and arms; the number of arms can't change while experiments use the pool."""
        return pool_out(await pools.update(principal, pool_id, data))

    @delete("/{pool_id:uuid}", guards=[requires_editor], responses=api_responses(400, 403, 404, 409))
    async def delete_pool(
        self, pool_id: FromPath[UUID], pools: NamedDependency[PoolService], principal: NamedDependency[Principal]
    ) -> None:
        """Delete a pool that no experiment uses."""
        await pools.delete(principal, pool_id)
