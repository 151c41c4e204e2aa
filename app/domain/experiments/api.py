from __future__ import annotations

from uuid import UUID

from litestar import Controller, delete, get, post, put
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, JSONBody

from app.domain.experiments.schemas import AuditRecord, Experiment, ExperimentCreate, ExperimentStats, ExperimentUpdate
from app.domain.experiments.services import ExperimentService, experiment_out, provide_experiment_service
from app.domain.guardrails.editing import audit_out
from app.domain.guardrails.services import audit_trail
from app.lib.auth import Principal, requires_editor
from app.lib.deps import provide_principal


class ExperimentController(Controller):
    path = "/experiments"
    tags = ["experiments"]
    dependencies = {
        "experiments": Provide(provide_experiment_service, sync_to_thread=False),
        "principal": Provide(provide_principal, sync_to_thread=False),
    }

    @get()
    async def list_experiments(
        self, experiments: NamedDependency[ExperimentService], principal: NamedDependency[Principal]
    ) -> list[Experiment]:
        return [experiment_out(e) for e in await experiments.list(principal)]

    @post(guards=[requires_editor])
    async def create_experiment(
        self,
        data: JSONBody[ExperimentCreate],
        experiments: NamedDependency[ExperimentService],
        principal: NamedDependency[Principal],
    ) -> Experiment:
        return experiment_out(await experiments.create(principal, data))

    @get("/{experiment_id:uuid}")
    async def get_experiment(
        self,
        experiment_id: FromPath[UUID],
        experiments: NamedDependency[ExperimentService],
        principal: NamedDependency[Principal],
    ) -> Experiment:
        return experiment_out(await experiments.get(principal, experiment_id))

    @put("/{experiment_id:uuid}", guards=[requires_editor])
    async def update_experiment(
        self,
        experiment_id: FromPath[UUID],
        data: JSONBody[ExperimentUpdate],
        experiments: NamedDependency[ExperimentService],
        principal: NamedDependency[Principal],
    ) -> Experiment:
        return experiment_out(await experiments.update(principal, experiment_id, data))

    @delete("/{experiment_id:uuid}", guards=[requires_editor])
    async def delete_experiment(
        self,
        experiment_id: FromPath[UUID],
        experiments: NamedDependency[ExperimentService],
        principal: NamedDependency[Principal],
    ) -> None:
        await experiments.delete(principal, experiment_id)

    @get("/{experiment_id:uuid}/stats")
    async def experiment_stats(
        self,
        experiment_id: FromPath[UUID],
        experiments: NamedDependency[ExperimentService],
        principal: NamedDependency[Principal],
    ) -> ExperimentStats:
        return await experiments.stats(principal, experiment_id)

    @get("/{experiment_id:uuid}/audit")
    async def experiment_audit(
        self,
        experiment_id: FromPath[UUID],
        experiments: NamedDependency[ExperimentService],
        principal: NamedDependency[Principal],
    ) -> list[AuditRecord]:
        """the experiment's decisions (guardrail pauses, drops, ships, pauses by hand), newest first."""
        experiment = await experiments.get(principal, experiment_id)
        return [audit_out(entry) for entry in await audit_trail(experiments.session, experiment)]
