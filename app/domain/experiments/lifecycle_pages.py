"""dashboard actions on an experiment's life: undo, archive, restore, duplicate and delete (typed name)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote
from uuid import UUID

from litestar import Controller, get, post
from litestar.di import NamedDependency, Provide
from litestar.enums import MediaType
from litestar.params import FromPath, URLEncodedBody
from litestar.plugins.htmx import HTMXTemplate
from litestar.response import Redirect, Template

from app.db.models import Experiment
from app.domain.experiments.services import ExperimentService, provide_experiment_service
from app.domain.team.guards import current_member
from app.lib.auth import Principal, requires_editor, requires_viewer
from app.lib.deps import provide_principal

Form = URLEncodedBody[dict[str, str]]


def _delete_page(experiment: Experiment, principal: Principal, typed: str, error: str, status: int) -> Template:
    return HTMXTemplate(
        template_name="experiments/delete.html",
        status_code=status,
        context={"experiment": experiment, "principal": principal, "typed": typed, "error": error},
    )


class ExperimentLifecyclePages(Controller):
    path = "/experiments"
    include_in_schema = False
    guards = [current_member, requires_viewer]
    dependencies = {
        "experiments": Provide(provide_experiment_service, sync_to_thread=False),
        "principal": Provide(provide_principal, sync_to_thread=False),
    }

    @post("/{experiment_id:uuid}/undo", guards=[requires_editor], media_type=MediaType.HTML)
    async def undo(
        self,
        experiment_id: FromPath[UUID],
        experiments: NamedDependency[ExperimentService],
        principal: NamedDependency[Principal],
    ) -> Redirect:
        await experiments.undo(principal, experiment_id)
        return Redirect(f"/experiments/{experiment_id}?done=undone")

    @post("/{experiment_id:uuid}/archive", guards=[requires_editor], media_type=MediaType.HTML)
    async def archive(
        self,
        experiment_id: FromPath[UUID],
        experiments: NamedDependency[ExperimentService],
        principal: NamedDependency[Principal],
    ) -> Redirect:
        await experiments.archive(principal, experiment_id)
        return Redirect(f"/experiments/{experiment_id}?done=archived")

    @post("/{experiment_id:uuid}/restore", guards=[requires_editor], media_type=MediaType.HTML)
    async def restore(
        self,
        experiment_id: FromPath[UUID],
        experiments: NamedDependency[ExperimentService],
        principal: NamedDependency[Principal],
    ) -> Redirect:
        await experiments.restore(principal, experiment_id)
        return Redirect(f"/experiments/{experiment_id}?done=restored")

    @post("/{experiment_id:uuid}/duplicate", guards=[requires_editor], media_type=MediaType.HTML)
    async def duplicate(
        self,
        experiment_id: FromPath[UUID],
        experiments: NamedDependency[ExperimentService],
        principal: NamedDependency[Principal],
    ) -> Redirect:
        copy = await experiments.duplicate(principal, experiment_id)
        return Redirect(f"/experiments/{copy.id}?done=duplicated")

    @get("/{experiment_id:uuid}/delete", guards=[requires_editor])
    async def delete_page(
        self,
        experiment_id: FromPath[UUID],
        experiments: NamedDependency[ExperimentService],
        principal: NamedDependency[Principal],
    ) -> Template:
        """the delete confirmation as a page of its own: where the dialog can't open, and after a wrong name."""
        experiment = await experiments.get(principal, experiment_id)
        return _delete_page(experiment, principal, "", "", 200)

    @post("/{experiment_id:uuid}/delete", guards=[requires_editor], media_type=MediaType.HTML)
    async def delete(
        self,
        experiment_id: FromPath[UUID],
        data: Form,
        experiments: NamedDependency[ExperimentService],
        principal: NamedDependency[Principal],
    ) -> Any:
        experiment = await experiments.get(principal, experiment_id)
        typed = data.get("confirm_name", "")
        if typed.strip() != experiment.name.strip():
            error = f"Type the experiment's name exactly as shown, “{experiment.name}”, to delete it."
            return _delete_page(experiment, principal, typed, error, 422)
        name = experiment.name
        await experiments.delete(principal, experiment_id)
        return Redirect("/experiments?done=deleted&name=" + quote(name[:200], safe=""))
