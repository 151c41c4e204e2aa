"""the targeting rule builder of an experiment (its gate), and the live "does this url match?" test."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import msgspec
from litestar import Controller, get, post
from litestar.di import NamedDependency, Provide
from litestar.enums import MediaType
from litestar.params import FromPath, URLEncodedBody
from litestar.plugins.htmx import HTMXTemplate
from litestar.response import Redirect, Template

from app.db.models import Experiment, FeatureGate
from app.domain.experiments.services import ExperimentService, provide_experiment_service
from app.domain.experiments.targeting import (
    ATTRIBUTES,
    OPERATORS,
    SUGGESTIONS,
    Builder,
    adjust_rules,
    gate_of,
    parse_builder,
    rule_count,
    test_url,
    values_of,
)
from app.domain.gates.schemas import GateCreate, GateUpdate
from app.domain.gates.services import GateService, provide_gate_service
from app.domain.team.guards import current_member
from app.lib.auth import Principal, requires_editor, requires_viewer
from app.lib.deps import provide_principal
from app.lib.errors import DomainError, form_error

Form = URLEncodedBody[dict[str, str]]
DAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]


def builder_context(
    experiment: Experiment, gate: FeatureGate | None, values: dict[str, Any], errors: dict[str, str]
) -> dict[str, Any]:
    return {
        "experiment": experiment,
        "gate": gate,
        "values": values,
        "errors": errors,
        "rule_count": rule_count(values),
        "attributes": ATTRIBUTES,
        "operators": OPERATORS,
        "suggestions": SUGGESTIONS,
        "days": DAYS,
    }


def _gate_fields(builder: Builder) -> dict[str, Any]:
    fields: dict[str, Any] = msgspec.to_builtins(builder.gate)
    return fields


class TargetingPages(Controller):
    path = "/experiments/{experiment_id:uuid}/targeting"
    include_in_schema = False
    guards = [current_member, requires_viewer]
    dependencies = {
        "experiments": Provide(provide_experiment_service, sync_to_thread=False),
        "gates": Provide(provide_gate_service, sync_to_thread=False),
        "principal": Provide(provide_principal, sync_to_thread=False),
    }

    async def _page(
        self,
        experiment: Experiment,
        gate: FeatureGate | None,
        principal: Principal,
        values: dict[str, Any],
        errors: dict[str, str],
        status_code: int = 200,
        result: Any = None,
    ) -> Template:
        context = builder_context(experiment, gate, values, errors)
        context.update(principal=principal, result=result)
        return HTMXTemplate(template_name="experiments/targeting.html", status_code=status_code, context=context)

    @get()
    async def page(
        self,
        experiment_id: FromPath[UUID],
        experiments: NamedDependency[ExperimentService],
        principal: NamedDependency[Principal],
    ) -> Template:
        experiment = await experiments.get(principal, experiment_id)
        gate = await gate_of(experiments.session, experiment)
        return await self._page(experiment, gate, principal, values_of(gate), {})

    @post(guards=[requires_editor], media_type=MediaType.HTML)
    async def save(
        self,
        experiment_id: FromPath[UUID],
        data: Form,
        experiments: NamedDependency[ExperimentService],
        gates: NamedDependency[GateService],
        principal: NamedDependency[Principal],
    ) -> Any:
        experiment = await experiments.get(principal, experiment_id)
        gate = await gate_of(experiments.session, experiment)
        values: dict[str, Any] = dict(data)
        if adjust_rules(values):
            return await self._page(experiment, gate, principal, values, {})
        builder = parse_builder(values, len(experiment.pool.arms))
        if "test" in values and not builder.errors:
            result = _test(builder, experiment, values)
            return await self._page(experiment, gate, principal, values, {}, result=result)
        if builder.errors:
            return await self._page(experiment, gate, principal, values, builder.errors, 422)
        fields = _gate_fields(builder)
        try:
            if gate is None:
                body = dict(fields, experiment_id=str(experiment.id), name=f"{experiment.name} targeting"[:200])
                await gates.create(principal, msgspec.convert(body, GateCreate))
            else:
                fields.pop("enabled")  # the gates page may have switched it off: saving rules keeps that
                await gates.update(principal, gate.id, msgspec.convert(fields, GateUpdate))
        except msgspec.ValidationError as exc:
            path, message = form_error(exc, "rules")
            return await self._page(experiment, gate, principal, values, {"rules": f"{path}: {message}"}, 422)
        except DomainError as exc:
            return await self._page(experiment, gate, principal, values, {"rules": exc.message}, 422)
        return Redirect(f"/experiments/{experiment.id}?done=targeting#targeting")

    @post("/test", media_type=MediaType.HTML)
    async def test(
        self,
        experiment_id: FromPath[UUID],
        data: Form,
        experiments: NamedDependency[ExperimentService],
        principal: NamedDependency[Principal],
    ) -> Template:
        """the live test: what the rules as typed (unsaved) do for a visitor on the given url."""
        experiment = await experiments.get(principal, experiment_id)
        values: dict[str, Any] = dict(data)
        builder = parse_builder(values, len(experiment.pool.arms))
        result = None if builder.errors else _test(builder, experiment, values)
        return HTMXTemplate(
            template_name="experiments/partials/_targeting_test.html",
            status_code=422 if builder.errors else 200,
            context={"result": result, "errors": builder.errors, "values": values},
        )

    @post("/remove", guards=[requires_editor], media_type=MediaType.HTML)
    async def remove(
        self,
        experiment_id: FromPath[UUID],
        experiments: NamedDependency[ExperimentService],
        gates: NamedDependency[GateService],
        principal: NamedDependency[Principal],
    ) -> Redirect:
        experiment = await experiments.get(principal, experiment_id)
        gate = await gate_of(experiments.session, experiment)
        if gate is not None:
            await gates.delete(principal, gate.id)
        return Redirect(f"/experiments/{experiment.id}?done=targeting#targeting")


def _test(builder: Builder, experiment: Experiment, values: dict[str, Any]) -> Any:
    url = str(values.get("test_url") or "").strip()[:2048]
    if not url:
        return None
    return test_url(
        builder,
        experiment,
        url,
        str(values.get("test_device") or "desktop")[:16],
        str(values.get("test_language") or "")[:35],
        str(values.get("test_country") or "")[:4],
    )
