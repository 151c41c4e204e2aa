from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from litestar import Controller, Request, delete, get, post, put
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter
from litestar.response import Stream

from app.domain.experiments.events import EXPORT_OPERATION, export_response
from app.domain.experiments.schemas import (
    AuditRecord,
    Experiment,
    ExperimentCreate,
    ExperimentStats,
    ExperimentUpdate,
    Status,
)
from app.domain.experiments.services import ExperimentService, experiment_out, provide_experiment_service
from app.domain.guardrails.editing import audit_out
from app.domain.guardrails.services import audit_trail
from app.lib.auth import Principal, requires_editor, requires_viewer
from app.lib.deps import provide_principal
from app.lib.openapi import api_responses


class ExperimentController(Controller):
    path = "/experiments"
    tags = ["experiments"]
    dependencies = {
        "experiments": Provide(provide_experiment_service, sync_to_thread=False),
        "principal": Provide(provide_principal, sync_to_thread=False),
    }

    @get(responses=api_responses(400))
    async def list_experiments(
        self,
        experiments: NamedDependency[ExperimentService],
        principal: NamedDependency[Principal],
        status: FromQuery[Status | None] = None,
        archived: FromQuery[bool | None] = None,
    ) -> list[Experiment]:
        """List the organization's experiments, newest first; filter by status and by archived (true/false)."""
        rows = await experiments.list(principal)
        return [
            experiment_out(e)
            for e in rows
            if (status is None or e.status.value == status)
            and (archived is None or (e.archived_at is not None) == archived)
        ]

    @post(guards=[requires_editor], responses=api_responses(403, 404, 409, body=True))
    async def create_experiment(
        self,
        data: JSONBody[ExperimentCreate],
        experiments: NamedDependency[ExperimentService],
        principal: NamedDependency[Principal],
    ) -> Experiment:
        """Create an experiment on a pool, running unless created as a draft."""
        return experiment_out(await experiments.create(principal, data))

    @get("/{experiment_id:uuid}", responses=api_responses(400, 404))
    async def get_experiment(
        self,
        experiment_id: FromPath[UUID],
        experiments: NamedDependency[ExperimentService],
        principal: NamedDependency[Principal],
    ) -> Experiment:
        """Get one experiment by id."""
        return experiment_out(await experiments.get(principal, experiment_id))

    @put("/{experiment_id:uuid}", guards=[requires_editor], responses=api_responses(403, 404, 409, body=True))
    async def update_experiment(
        self,
        experiment_id: FromPath[UUID],
        data: JSONBody[ExperimentUpdate],
        experiments: NamedDependency[ExperimentService],
        principal: NamedDependency[Principal],
    ) -> Experiment:
        """Change an experiment's settings or move it through draft, running, paused and completed."""
        return experiment_out(await experiments.update(principal, experiment_id, data))

    @delete("/{experiment_id:uuid}", guards=[requires_editor], responses=api_responses(400, 403, 404))
    async def delete_experiment(
        self,
        experiment_id: FromPath[UUID],
        experiments: NamedDependency[ExperimentService],
        principal: NamedDependency[Principal],
    ) -> None:
        """Delete an experiment; selections for it stop at once."""
        await experiments.delete(principal, experiment_id)

    @get("/{experiment_id:uuid}/stats", responses=api_responses(400, 404))
    async def experiment_stats(
        self,
        experiment_id: FromPath[UUID],
        experiments: NamedDependency[ExperimentService],
        principal: NamedDependency[Principal],
    ) -> ExperimentStats:
        """Per-arm exposures, rewards, means and intervals of an experiment, and its holdout."""
        return await experiments.stats(principal, experiment_id)

    @get("/{experiment_id:uuid}/audit", responses=api_responses(400, 404))
    async def experiment_audit(
        self,
        experiment_id: FromPath[UUID],
        experiments: NamedDependency[ExperimentService],
        principal: NamedDependency[Principal],
    ) -> list[AuditRecord]:
        """List the experiment's decisions (guardrail pauses, drops, ships, pauses by hand), newest first."""
        experiment = await experiments.get(principal, experiment_id)
        return [audit_out(entry) for entry in await audit_trail(experiments.session, experiment)]

    @get(
        "/{experiment_id:uuid}/events",
        guards=[requires_viewer],
        responses=api_responses(400, 403, 404, 422),
        operation_class=EXPORT_OPERATION,
    )
    async def export_experiment_events(
        self,
        experiment_id: FromPath[UUID],
        experiments: NamedDependency[ExperimentService],
        principal: NamedDependency[Principal],
        request: Request[Any, Any, Any],
        fmt: Annotated[
            str, QueryParameter(name="format", description="csv or jsonl", schema_extra={"enum": ["csv", "jsonl"]})
        ] = "csv",
        since: Annotated[
            str | None,
            QueryParameter(description="only exposures from this iso 8601 date or date-time (utc when no offset)"),
        ] = None,
    ) -> Stream:
        """Download the experiment's event log, one row per exposure with its reward, as csv or json lines."""
        experiment = await experiments.get(principal, experiment_id)
        return export_response(request.app.state.database, experiment, fmt, since)

    @post(
        "/{experiment_id:uuid}/undo",
        status_code=200,
        guards=[requires_editor],
        responses=api_responses(400, 403, 404, 409, s409="Nothing to undo, or the undo window has closed."),
    )
    async def undo_experiment(
        self,
        experiment_id: FromPath[UUID],
        experiments: NamedDependency[ExperimentService],
        principal: NamedDependency[Principal],
    ) -> Experiment:
        """Take back a stop or a declared winner within ten minutes: the experiment runs (or pauses) as before."""
        return experiment_out(await experiments.undo(principal, experiment_id))

    @post(
        "/{experiment_id:uuid}/archive",
        status_code=200,
        guards=[requires_editor],
        responses=api_responses(400, 403, 404, 409, s409="The experiment is running: pause or stop it first."),
    )
    async def archive_experiment(
        self,
        experiment_id: FromPath[UUID],
        experiments: NamedDependency[ExperimentService],
        principal: NamedDependency[Principal],
    ) -> Experiment:
        """Archive an experiment: its data is kept but it is no longer served (select answers 404)."""
        return experiment_out(await experiments.archive(principal, experiment_id))

    @post(
        "/{experiment_id:uuid}/restore",
        status_code=200,
        guards=[requires_editor],
        responses=api_responses(400, 403, 404),
    )
    async def restore_experiment(
        self,
        experiment_id: FromPath[UUID],
        experiments: NamedDependency[ExperimentService],
        principal: NamedDependency[Principal],
    ) -> Experiment:
        """Bring an archived experiment back in the status it had; it is served again if live."""
        return experiment_out(await experiments.restore(principal, experiment_id))

    @post(
        "/{experiment_id:uuid}/duplicate",
        status_code=201,
        guards=[requires_editor],
        responses=api_responses(400, 403, 404, 409),
    )
    async def duplicate_experiment(
        self,
        experiment_id: FromPath[UUID],
        experiments: NamedDependency[ExperimentService],
        principal: NamedDependency[Principal],
    ) -> Experiment:
        """Copy an experiment (arms, settings, targeting) into a new draft with no traffic."""
        return experiment_out(await experiments.duplicate(principal, experiment_id))
