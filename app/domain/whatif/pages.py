"""the "what if" card of an experiment's page: pick a policy, see what it would have earned on this traffic."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from litestar import Controller, get, post
from litestar.di import NamedDependency, Provide
from litestar.enums import MediaType
from litestar.params import FromPath, URLEncodedBody
from litestar.plugins.htmx import HTMXRequest, HTMXTemplate
from litestar.response import Template

from app.db.models import Experiment
from app.domain.results.services import ResultsService, provide_results_service
from app.domain.team.guards import current_member
from app.domain.whatif.services import MAX_CONTEXTUAL_EVENTS, MAX_EVENTS, WhatIf, choices, what_if
from app.lib.auth import Principal, requires_viewer
from app.lib.deps import provide_principal
from app.lib.errors import DomainError
from app.offline.evaluation import SMALL_ESS


def whatif_context(
    experiment: Experiment,
    principal: Principal,
    values: dict[str, str] | None = None,
    result: WhatIf | None = None,
    errors: dict[str, str] | None = None,
) -> dict[str, Any]:
    return {
        "experiment": experiment,
        "principal": principal,
        "whatif_policies": choices(experiment),
        # the experiment's own policy first: "what if we had tuned it differently?"
        "whatif_values": values or {"policy": experiment.protocol, "params": ""},
        "whatif": result,
        "whatif_errors": errors or {},
        "whatif_small_ess": int(SMALL_ESS),
        "whatif_caps": (MAX_EVENTS, MAX_CONTEXTUAL_EVENTS),
    }


class WhatIfPages(Controller):
    path = "/experiments"
    include_in_schema = False
    guards = [current_member, requires_viewer]
    dependencies = {
        "results": Provide(provide_results_service, sync_to_thread=False),
        "principal": Provide(provide_principal, sync_to_thread=False),
    }

    @get("/{experiment_id:uuid}/what-if")
    async def what_if_page(
        self,
        experiment_id: FromPath[UUID],
        results: NamedDependency[ResultsService],
        principal: NamedDependency[Principal],
    ) -> Template:
        experiment = await results.experiment(principal, experiment_id)
        return HTMXTemplate(template_name="experiments/whatif.html", context=whatif_context(experiment, principal))

    @post("/{experiment_id:uuid}/what-if", media_type=MediaType.HTML)
    async def what_if(
        self,
        experiment_id: FromPath[UUID],
        data: URLEncodedBody[dict[str, str]],
        results: NamedDependency[ResultsService],
        principal: NamedDependency[Principal],
        request: HTMXRequest,
    ) -> Template:
        """the partial for htmx, the whole page for a plain form post (no javascript)."""
        experiment = await results.experiment(principal, experiment_id)
        values = {"policy": str(data.get("policy", "")), "params": str(data.get("params", ""))}
        status, result, errors = 200, None, {}
        try:
            result = await what_if(request.app.state.database, experiment, values["policy"], values["params"])
        except DomainError as exc:
            status, errors = 422, {exc.field or "policy": exc.message}
        context = whatif_context(experiment, principal, values, result, errors)
        name = "experiments/partials/_whatif.html" if request.htmx else "experiments/whatif.html"
        return HTMXTemplate(template_name=name, context=context, status_code=status)
