"""dashboard pages for gates: a list, and one form to create or edit (rules as lines of text)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import msgspec
from litestar import Controller, get, post
from litestar.di import NamedDependency, Provide
from litestar.enums import MediaType
from litestar.params import FromPath, FromQuery, URLEncodedBody
from litestar.plugins.htmx import HTMXRequest, HTMXTemplate
from litestar.response import Redirect, Template

from app.db.models import Experiment, FeatureGate
from app.domain.experiments.services import ExperimentService, provide_experiment_service
from app.domain.gates.forms import ANCHORS, FormError, form_values, name_errors, parse_form
from app.domain.gates.schemas import GateCreate, GateUpdate
from app.domain.gates.services import GateService, provide_gate_service
from app.domain.team.guards import current_member
from app.lib.auth import Principal, requires_editor, requires_viewer
from app.lib.deps import provide_principal
from app.lib.errors import DomainError, form_error
from app.lib.htmx import after_save
from app.targeting import OPERATORS

Form = URLEncodedBody[dict[str, str]]
DAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]


def _values(data: dict[str, str]) -> dict[str, Any]:
    values: dict[str, Any] = dict(data)
    values["days"] = [str(d) for d in range(7) if data.get(f"day-{d}")]
    return values


def _error_field(field: str | None, lines: list[int]) -> tuple[str, str]:
    """a service error's field to the form's: rules[2].condition.value is the rules box, line N."""
    field = field or "name"
    if field.startswith("rules["):
        index = int(field[len("rules[") : field.index("]")])
        line = lines[index] if index < len(lines) else index + 1
        return "rules", f"line {line} ({field})"
    if field.startswith("schedule"):
        return "schedule", field
    return field.split(".")[0], ""


class GatePages(Controller):
    path = "/gates"
    include_in_schema = False
    guards = [current_member, requires_viewer]
    dependencies = {
        "gates": Provide(provide_gate_service, sync_to_thread=False),
        "experiments": Provide(provide_experiment_service, sync_to_thread=False),
        "principal": Provide(provide_principal, sync_to_thread=False),
    }

    @get()
    async def list_page(
        self,
        gates: NamedDependency[GateService],
        experiments: NamedDependency[ExperimentService],
        principal: NamedDependency[Principal],
    ) -> Template:
        names = {e.id: e for e in await experiments.list(principal)}
        all_gates = await gates.list(principal)
        rows = [{"gate": g, "experiment": names.get(g.experiment_id)} for g in all_gates]
        gated = {g.experiment_id for g in all_gates}
        ungated = [e for e in names.values() if e.id not in gated]
        return HTMXTemplate(
            template_name="gates/list.html", context={"rows": rows, "ungated": ungated, "principal": principal}
        )

    async def _form(
        self,
        principal: Principal,
        experiments: ExperimentService,
        values: dict[str, Any],
        errors: dict[str, str],
        gate: FeatureGate | None = None,
        status_code: int = 200,
        request: HTMXRequest | None = None,
    ) -> Template:
        """the whole page; for htmx (a form answered with its errors) only the form, swapped in place."""
        experiment = None
        if values.get("experiment_id"):
            try:
                experiment = await experiments.get(principal, UUID(values["experiment_id"]))
            except (ValueError, DomainError):
                experiment = None
        choices = [] if gate else await experiments.list(principal)
        htmx = request is not None and bool(request.htmx)
        return HTMXTemplate(
            template_name="gates/partials/_form.html" if htmx else "gates/form.html",
            status_code=status_code,
            context={
                "gate": gate,
                "experiment": experiment,
                "choices": choices,
                "values": values,
                "errors": name_errors(errors),
                "anchors": ANCHORS,
                "principal": principal,
                "days": DAYS,
                "operators": sorted(OPERATORS),
            },
        )

    @get("/new", guards=[requires_editor])
    async def new_page(
        self,
        experiments: NamedDependency[ExperimentService],
        principal: NamedDependency[Principal],
        experiment_id: FromQuery[str] = "",
    ) -> Template:
        values = {"experiment_id": experiment_id, "enabled": True, "rollout_percent": "100", "timezone": "UTC"}
        return await self._form(principal, experiments, values, {})

    @get("/{gate_id:uuid}")
    async def edit_page(
        self,
        gate_id: FromPath[UUID],
        gates: NamedDependency[GateService],
        experiments: NamedDependency[ExperimentService],
        principal: NamedDependency[Principal],
    ) -> Template:
        gate = await gates.get(principal, gate_id)
        experiment = await experiments.get(principal, gate.experiment_id)
        values = form_values(gate, [a.name for a in experiment.pool.arms])
        return await self._form(principal, experiments, values, {}, gate)

    async def _save(
        self,
        data: dict[str, str],
        gates: GateService,
        experiments: ExperimentService,
        principal: Principal,
        gate: FeatureGate | None,
        request: HTMXRequest,
    ) -> Any:
        values = _values(data)
        if gate is not None:
            values["experiment_id"] = str(gate.experiment_id)
        errors: dict[str, str] = {}
        experiment: Experiment | None = None
        try:
            experiment = await experiments.get(principal, UUID(values.get("experiment_id") or ""))
        except (ValueError, DomainError):
            errors["experiment_id"] = "Choose an experiment."
            return await self._form(principal, experiments, values, errors, gate, 422, request)
        lines: list[int] = []
        try:
            fields, lines = parse_form(values, [a.name for a in experiment.pool.arms])
            if gate is None:
                saved = await gates.create(
                    principal, msgspec.convert({"experiment_id": str(experiment.id), **fields}, GateCreate)
                )
            else:
                saved = await gates.update(principal, gate.id, msgspec.convert(fields, GateUpdate))
        except FormError as exc:
            errors[exc.field] = exc.message
        except msgspec.ValidationError as exc:
            path, message = form_error(exc, "name")
            field, where = _error_field(path, lines)
            errors[field] = f"{where}: {message}" if where else message
        except DomainError as exc:
            field, where = _error_field(exc.field, lines)
            errors[field] = f"{where}: {exc.message}" if where else exc.message
        if errors:
            return await self._form(principal, experiments, values, errors, gate, 422, request)
        return after_save(request, f"/gates/{saved.id}?saved=1")

    @post(guards=[requires_editor], media_type=MediaType.HTML)
    async def create(
        self,
        data: Form,
        gates: NamedDependency[GateService],
        experiments: NamedDependency[ExperimentService],
        principal: NamedDependency[Principal],
        request: HTMXRequest,
    ) -> Any:
        return await self._save(data, gates, experiments, principal, None, request)

    @post("/{gate_id:uuid}", guards=[requires_editor], media_type=MediaType.HTML)
    async def update(
        self,
        gate_id: FromPath[UUID],
        data: Form,
        gates: NamedDependency[GateService],
        experiments: NamedDependency[ExperimentService],
        principal: NamedDependency[Principal],
        request: HTMXRequest,
    ) -> Any:
        gate = await gates.get(principal, gate_id)
        return await self._save(data, gates, experiments, principal, gate, request)

    @post("/{gate_id:uuid}/delete", guards=[requires_editor])
    async def delete(
        self, gate_id: FromPath[UUID], gates: NamedDependency[GateService], principal: NamedDependency[Principal]
    ) -> Redirect:
        await gates.delete(principal, gate_id)
        return Redirect("/gates")
