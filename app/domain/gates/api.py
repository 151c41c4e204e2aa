from __future__ import annotations

from uuid import UUID

from litestar import Controller, delete, get, post, put
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, FromQuery, JSONBody

from app.domain.gates.schemas import Gate, GateCreate, GateUpdate
from app.domain.gates.services import GateService, gate_out, provide_gate_service
from app.lib.auth import Principal, requires_editor
from app.lib.deps import provide_principal
from app.lib.openapi import api_responses


class GateController(Controller):
    path = "/gates"
    tags = ["gates"]
    dependencies = {
        "gates": Provide(provide_gate_service, sync_to_thread=False),
        "principal": Provide(provide_principal, sync_to_thread=False),
    }

    @get(responses=api_responses(400))
    async def list_gates(
        self,
        gates: NamedDependency[GateService],
        principal: NamedDependency[Principal],
        experiment_id: FromQuery[UUID | None] = None,
    ) -> list[Gate]:
        """List the organization's gates, optionally of one experiment."""
        return [gate_out(g) for g in await gates.list(principal, experiment_id)]

    @post(guards=[requires_editor], responses=api_responses(403, 404, 409, body=True))
    async def create_gate(
        self, data: JSONBody[GateCreate], gates: NamedDependency[GateService], principal: NamedDependency[Principal]
    ) -> Gate:
        """Put a gate (targeting rules and a schedule) in front of an experiment."""
        return gate_out(await gates.create(principal, data))

    @get("/{gate_id:uuid}", responses=api_responses(400, 404))
    async def get_gate(
        self, gate_id: FromPath[UUID], gates: NamedDependency[GateService], principal: NamedDependency[Principal]
    ) -> Gate:
        """Get one gate by id."""
        return gate_out(await gates.get(principal, gate_id))

    @put("/{gate_id:uuid}", guards=[requires_editor], responses=api_responses(403, 404, body=True))
    async def update_gate(
        self,
        gate_id: FromPath[UUID],
        data: JSONBody[GateUpdate],
        gates: NamedDependency[GateService],
        principal: NamedDependency[Principal],
    ) -> Gate:
        """Replace a gate's rules, schedule or default arm."""
        return gate_out(await gates.update(principal, gate_id, data))

    @delete("/{gate_id:uuid}", guards=[requires_editor], responses=api_responses(400, 403, 404))
    async def delete_gate(
        self, gate_id: FromPath[UUID], gates: NamedDependency[GateService], principal: NamedDependency[Principal]
    ) -> None:
        """Delete a gate: the experiment then takes every visitor."""
        await gates.delete(principal, gate_id)
