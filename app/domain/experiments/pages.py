from __future__ import annotations

from datetime import date
from typing import Annotated, Any
from uuid import UUID

import msgspec
from litestar import Controller, Response, get, post
from litestar.di import NamedDependency, Provide
from litestar.enums import MediaType
from litestar.params import FromPath, FromQuery, QueryParameter, URLEncodedBody
from litestar.plugins.htmx import HTMXRequest, HTMXTemplate
from litestar.response import Redirect, Stream, Template

from app.db.models import Experiment, ExperimentStatus
from app.domain.experiments.classic import load_classic
from app.domain.experiments.editor_pages import default_page
from app.domain.experiments.events import export_response
from app.domain.experiments.export import series_csv
from app.domain.experiments.form_feedback import ANCHORS, focus_after, name_errors
from app.domain.experiments.forms import (
    RECOMMENDED_POLICY,
    STRATEGIES,
    adjust_arms,
    blank_values,
    field_of,
    parse_form,
    policy_choices,
    strategy_of,
    values_of,
)
from app.domain.experiments.lifecycle import UNDO_SECONDS, undo_until
from app.domain.experiments.overview import SHOWS, SORTS, Show, Sort, overview
from app.domain.experiments.schemas import ExperimentCreate, ExperimentUpdate, Status
from app.domain.experiments.services import (
    ExperimentService,
    provide_experiment_service,
    reward_max_of,
    set_aside_events,
)
from app.domain.experiments.targeting import gate_of, summary
from app.domain.experiments.targeting import values_of as targeting_values
from app.domain.experiments.targeting_pages import builder_context
from app.domain.gates.services import holdout_stats
from app.domain.guardrails.services import audit_trail
from app.domain.onboarding.services import checklist
from app.domain.pools.schemas import PoolCreate, PoolUpdate
from app.domain.pools.services import PoolService, provide_pool_service
from app.domain.results.filters import ReportFilter, report_filter
from app.domain.results.segments import load_segments, segments_csv
from app.domain.results.services import ResultsService, provide_results_service
from app.domain.sites.services import SiteService, provide_site_service
from app.domain.team.guards import current_member
from app.domain.whatif.pages import whatif_context
from app.lib.auth import Principal, requires_editor, requires_viewer
from app.lib.conditional import conditional_template
from app.lib.deps import provide_principal
from app.lib.errors import DomainError, InvalidInputError, form_error
from app.lib.html import json_for_script
from app.lib.htmx import after_save

Form = URLEncodedBody[dict[str, str]]
# what the page confirms after a lifecycle action (app.domain.experiments.lifecycle_pages)
DONE = {"undone", "archived", "restored", "duplicated", "targeting"}
ACTIONS: dict[str, Status] = {"start": "running", "pause": "paused", "resume": "running", "stop": "completed"}


def _results_context(
    experiment: Experiment, view: Any, principal: Principal, report: ReportFilter | None = None
) -> dict[str, Any]:
    return {
        "experiment": experiment,
        "results": view,
        # arm names are user text: keep them from closing (or escaping) the <script> element the json sits in
        "charts_json": json_for_script(view.charts),
        "principal": principal,
        "polling": experiment.status == ExperimentStatus.RUNNING,
        "report": report or ReportFilter(),
    }


def _csv(body: str, filename: str) -> Response[str]:
    return Response(
        body,
        media_type="text/csv; charset=utf-8",
        headers={"content-disposition": f'attachment; filename="{filename}"'},
    )


class ExperimentPages(Controller):
    path = "/experiments"
    include_in_schema = False
    guards = [current_member, requires_viewer]
    dependencies = {
        "experiments": Provide(provide_experiment_service, sync_to_thread=False),
        "pools": Provide(provide_pool_service, sync_to_thread=False),
        "sites": Provide(provide_site_service, sync_to_thread=False),
        "results": Provide(provide_results_service, sync_to_thread=False),
        "principal": Provide(provide_principal, sync_to_thread=False),
    }

    @get()
    async def list_page(
        self,
        experiments: NamedDependency[ExperimentService],
        principal: NamedDependency[Principal],
        sort: FromQuery[Sort] = "newest",
        show: FromQuery[Show] = "active",
        done: FromQuery[str] = "",
        name: FromQuery[str] = "",
    ) -> Template:
        rows = await overview(experiments.session, principal, sort, show)
        context = {
            "rows": rows,
            "principal": principal,
            "sort": sort,
            "show": show,
            "sorts": SORTS,
            "shows": SHOWS,
            "deleted": name[:200] if done == "deleted" else "",
            "onboarding": await checklist(experiments.session, experiments.publisher, principal),
        }
        return HTMXTemplate(template_name="experiments/list.html", context=context)

    async def _form(
        self,
        sites: SiteService,
        principal: Principal,
        values: dict[str, Any],
        errors: dict[str, str],
        experiment: Experiment | None = None,
        status_code: int = 200,
        request: HTMXRequest | None = None,
        focus: str = "",
    ) -> Template:
        """the whole page; for htmx the part it swaps: the arms after adding or removing one, else the form."""
        template = "experiments/form.html"
        if request is not None and request.htmx:
            part = "_arms" if request.htmx.target == "arms" else "_form"
            template = f"experiments/partials/{part}.html"
        return HTMXTemplate(
            template_name=template,
            status_code=status_code,
            context={
                "sites": await sites.list(principal),
                "policies": policy_choices(),
                "strategies": STRATEGIES,
                "bandit_strategy": _bandit_strategy(experiment),
                "recommended_policy": RECOMMENDED_POLICY,
                "values": values,
                "errors": name_errors(errors),
                "anchors": ANCHORS,
                "focus": focus,
                "principal": principal,
                "experiment": experiment,
                "action": f"/experiments/{experiment.id}/edit" if experiment else "/experiments",
                "started": experiment is not None and experiment.status != ExperimentStatus.DRAFT,
                "arm_count": int(values.get("arm_count") or 2),
            },
        )

    @get("/new", guards=[requires_editor])
    async def new_page(self, sites: NamedDependency[SiteService], principal: NamedDependency[Principal]) -> Template:
        return await self._form(sites, principal, blank_values(), {})

    @post(guards=[requires_editor], media_type=MediaType.HTML)
    async def create(
        self,
        data: Form,
        experiments: NamedDependency[ExperimentService],
        pools: NamedDependency[PoolService],
        sites: NamedDependency[SiteService],
        principal: NamedDependency[Principal],
        request: HTMXRequest,
    ) -> Any:
        values: dict[str, Any] = dict(data)
        if adjust_arms(values):
            return await self._form(sites, principal, values, {}, request=request, focus=focus_after(data, values))
        form = parse_form(values)
        if form.errors:
            return await self._form(sites, principal, values, form.errors, status_code=422, request=request)
        try:
            body = dict(form.body, status="draft")
            if str(values.get("key", "")).strip():
                body["key"] = str(values["key"]).strip()
            # a failed step answers 422, which rolls the whole request back, pool included
            pool = await pools.create(principal, PoolCreate(name=form.body["name"], arms=form.arms))
            create = msgspec.convert(dict(body, pool_id=str(pool.id)), ExperimentCreate)
            experiment = await experiments.create(principal, create)
        except msgspec.ValidationError as exc:
            errors = _validation_errors(exc)
            return await self._form(sites, principal, values, errors, status_code=422, request=request)
        except DomainError as exc:
            errors = {field_of(exc.field): exc.message}
            return await self._form(sites, principal, values, errors, status_code=422, request=request)
        return after_save(request, f"/experiments/{experiment.id}")

    @get("/{experiment_id:uuid}/edit", guards=[requires_editor])
    async def edit_page(
        self,
        experiment_id: FromPath[UUID],
        experiments: NamedDependency[ExperimentService],
        sites: NamedDependency[SiteService],
        principal: NamedDependency[Principal],
    ) -> Template:
        experiment = await experiments.get(principal, experiment_id)
        return await self._form(sites, principal, values_of(experiment), {}, experiment)

    @post("/{experiment_id:uuid}/edit", guards=[requires_editor], media_type=MediaType.HTML)
    async def edit(
        self,
        experiment_id: FromPath[UUID],
        data: Form,
        experiments: NamedDependency[ExperimentService],
        pools: NamedDependency[PoolService],
        sites: NamedDependency[SiteService],
        principal: NamedDependency[Principal],
        request: HTMXRequest,
    ) -> Any:
        experiment = await experiments.get(principal, experiment_id)
        started = experiment.status != ExperimentStatus.DRAFT
        values: dict[str, Any] = dict(data)
        values["key"] = experiment.key
        if started:
            # arms, policy and reward mode are fixed once visitors have seen the experiment
            values["arm_count"] = str(len(experiment.pool.arms))
            values.pop("add_arm", None)
            values.pop("remove_arm", None)
            values["protocol"], values["reward_mode"] = experiment.protocol, experiment.reward_mode.value
        if adjust_arms(values):
            focus = focus_after(data, values)
            return await self._form(sites, principal, values, {}, experiment, request=request, focus=focus)
        form = parse_form(values, started=started)
        errors = form.errors
        if not errors:
            try:
                update = msgspec.convert(form.body, ExperimentUpdate)
                await pools.update(principal, experiment.pool_id, PoolUpdate(arms=form.arms))
                await experiments.update(principal, experiment.id, update)
            except msgspec.ValidationError as exc:
                errors = _validation_errors(exc)
            except DomainError as exc:
                errors = {field_of(exc.field): exc.message}
        if errors:
            return await self._form(sites, principal, values, errors, experiment, 422, request)
        return after_save(request, f"/experiments/{experiment.id}")

    @get("/{experiment_id:uuid}")
    async def detail(
        self,
        experiment_id: FromPath[UUID],
        results: NamedDependency[ResultsService],
        sites: NamedDependency[SiteService],
        principal: NamedDependency[Principal],
        request: HTMXRequest,
        start: FromQuery[str | None] = None,
        end: FromQuery[str | None] = None,
        granularity: FromQuery[str | None] = None,
        done: FromQuery[str] = "",
    ) -> Template:
        """the experiment and its results; start, end (utc days) and granularity filter the charts and segments."""
        report = report_filter(start, end, granularity)
        experiment, view = await results.results(principal, experiment_id, report)
        site = await sites.get(principal, experiment.site_id) if experiment.site_id is not None else None
        context = _results_context(experiment, view, principal, report)
        context["segments"] = await load_segments(results.session, experiment, report)
        context["site"] = site
        context["editor_page"] = default_page(site)
        context["holdout"] = await holdout_stats(results.session, experiment)
        context["audit"] = await audit_trail(results.session, experiment)
        context["classic"] = await load_classic(results.session, experiment)
        context["set_aside"] = await set_aside_events(results.session, experiment.id)
        context["reward_max"] = reward_max_of(experiment)
        context.update(whatif_context(experiment, principal))
        context["strategy"] = STRATEGIES[
            strategy_of(
                experiment.protocol,
                experiment.protocol_params or {},
                experiment.allocation,
                experiment.reward_mode.value,
            )
        ][0]
        context["undo_until"] = undo_until(experiment)
        context["undo_minutes"] = UNDO_SECONDS // 60
        context["done"] = done if done in DONE else ""
        gate = await gate_of(results.session, experiment)
        context["targeting"] = summary(experiment, gate)
        context["builder"] = builder_context(experiment, gate, targeting_values(gate), {})
        return HTMXTemplate(template_name="experiments/detail.html", context=context)

    @get("/{experiment_id:uuid}/results")
    async def results_fragment(
        self,
        experiment_id: FromPath[UUID],
        results: NamedDependency[ResultsService],
        principal: NamedDependency[Principal],
        request: HTMXRequest,
        start: FromQuery[str | None] = None,
        end: FromQuery[str | None] = None,
        granularity: FromQuery[str | None] = None,
    ) -> Response[bytes]:
        report = report_filter(start, end, granularity)
        experiment, view = await results.results(principal, experiment_id, report)
        context = _results_context(experiment, view, principal, report)
        context["segments"] = await load_segments(results.session, experiment, report)
        context["holdout"] = await holdout_stats(results.session, experiment)
        context["classic"] = await load_classic(results.session, experiment)
        # the results page polls this every 3 s: unchanged, it is a 304 without a body
        return conditional_template(
            request, Template(template_name="experiments/partials/_results.html", context=context)
        )

    @get("/{experiment_id:uuid}/results.csv")
    async def totals_csv(
        self,
        experiment_id: FromPath[UUID],
        results: NamedDependency[ResultsService],
        principal: NamedDependency[Principal],
    ) -> Response[str]:
        experiment, view = await results.results(principal, experiment_id)
        return _csv(results.totals_csv(experiment, view), f"{experiment.key}-results.csv")

    @get("/{experiment_id:uuid}/hourly.csv")
    async def hourly_csv(
        self,
        experiment_id: FromPath[UUID],
        results: NamedDependency[ResultsService],
        principal: NamedDependency[Principal],
    ) -> Response[str]:
        experiment = await results.experiment(principal, experiment_id)
        return _csv(await results.hourly_csv(experiment), f"{experiment.key}-hourly.csv")

    @get("/{experiment_id:uuid}/segments.csv")
    async def segments_export(
        self,
        experiment_id: FromPath[UUID],
        results: NamedDependency[ResultsService],
        principal: NamedDependency[Principal],
        start: FromQuery[str | None] = None,
        end: FromQuery[str | None] = None,
    ) -> Response[str]:
        """the segment tables of a date range (utc days, both included), one row per segment and arm."""
        report = report_filter(start, end, None)
        experiment = await results.experiment(principal, experiment_id)
        view = await load_segments(results.session, experiment, report)
        return _csv(segments_csv(view), f"{experiment.key}-segments.csv")

    @get("/{experiment_id:uuid}/series.csv")
    async def series_export(
        self,
        experiment_id: FromPath[UUID],
        results: NamedDependency[ResultsService],
        principal: NamedDependency[Principal],
        start: FromQuery[date | None] = None,
        end: FromQuery[date | None] = None,
        granularity: FromQuery[str] = "day",
    ) -> Response[str]:
        """the series for a date range (utc days, both included) at hour, day or week granularity."""
        experiment = await results.experiment(principal, experiment_id)
        body = await series_csv(results.session, experiment, start, end, granularity)
        return _csv(body, f"{experiment.key}-{granularity}.csv")

    @get("/{experiment_id:uuid}/events")
    async def events_export(
        self,
        experiment_id: FromPath[UUID],
        results: NamedDependency[ResultsService],
        principal: NamedDependency[Principal],
        request: HTMXRequest,
        fmt: Annotated[str, QueryParameter(name="format")] = "csv",
        since: FromQuery[str | None] = None,
    ) -> Stream:
        """the event log, one row per exposure with its reward (app.domain.experiments.events)."""
        experiment = await results.experiment(principal, experiment_id)
        return export_response(request.app.state.database, experiment, fmt, since)

    @post("/{experiment_id:uuid}/status", guards=[requires_editor], media_type=MediaType.HTML)
    async def change_status(
        self,
        experiment_id: FromPath[UUID],
        data: Form,
        experiments: NamedDependency[ExperimentService],
        principal: NamedDependency[Principal],
    ) -> Any:
        target = ACTIONS.get(data.get("action", ""))
        if target is None:
            raise InvalidInputError("unknown action", field="action")
        await experiments.update(principal, experiment_id, ExperimentUpdate(status=target))
        return Redirect(f"/experiments/{experiment_id}")

    @post("/{experiment_id:uuid}/results-view", guards=[requires_editor], media_type=MediaType.HTML)
    async def change_results_view(
        self,
        experiment_id: FromPath[UUID],
        data: Form,
        experiments: NamedDependency[ExperimentService],
        principal: NamedDependency[Principal],
    ) -> Any:
        view = data.get("results_view", "")
        if view == "bayesian":
            update = ExperimentUpdate(results_view="bayesian")
        elif view == "frequentist":
            update = ExperimentUpdate(results_view="frequentist")
        else:
            raise InvalidInputError("choose bayesian or frequentist", field="results_view")
        await experiments.update(principal, experiment_id, update)
        return Redirect(f"/experiments/{experiment_id}#results")

    @post("/{experiment_id:uuid}/winner", guards=[requires_editor], media_type=MediaType.HTML)
    async def declare_winner(
        self,
        experiment_id: FromPath[UUID],
        data: Form,
        experiments: NamedDependency[ExperimentService],
        principal: NamedDependency[Principal],
    ) -> Any:
        try:
            winner = int(data.get("winner_index", ""))
        except ValueError:
            raise InvalidInputError("choose the arm to serve to everyone", field="winner_index") from None
        # completed is final: the winner is served to everyone and the bandit stops learning
        await experiments.update(principal, experiment_id, ExperimentUpdate(status="completed", winner_index=winner))
        return Redirect(f"/experiments/{experiment_id}")


def _bandit_strategy(experiment: Experiment | None) -> str | None:
    """how a started experiment learns when it is not on a fixed split (its policy can't change)."""
    if experiment is None:
        return None
    mode = experiment.reward_mode.value
    return strategy_of(experiment.protocol, experiment.protocol_params or {}, "bandit", mode)


def _validation_errors(exc: msgspec.ValidationError) -> dict[str, str]:
    api_field, message = form_error(exc, "name")
    return {field_of(api_field): message}
