"""loads an experiment's hourly statistics and its bandit's current allocation, and builds the results."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import numpy as np
from litestar import Request
from litestar.di import NamedDependency
from sqlalchemy import Integer, Select, cast, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models import ArmStatsHourly, ArmStatsMinute, Experiment, ExperimentStatus, RewardMode
from app.domain.results.charts import Grid
from app.domain.results.filters import ReportFilter
from app.domain.results.model import Counters, ResultsView, bucket_hours, build_results
from app.domain.results.periods import Period, choose_period, period_count, period_origin
from app.lib.auth import Principal
from app.lib.tenancy import get_owned
from app.runtime.hotcache import HotCache
from app.stats import DecisionThresholds

# a spreadsheet would run a cell that starts with one of these as a formula
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def thresholds_of(experiment: Experiment) -> DecisionThresholds:
    return DecisionThresholds(
        prob_best=experiment.decision_prob_best,
        max_expected_loss=experiment.decision_max_expected_loss,
        min_trials_per_arm=experiment.decision_min_trials_per_arm,
        practical_difference=experiment.decision_practical_difference,
    )


def traffic_now(experiment: Experiment, cache: HotCache | None) -> list[float] | None:
    """each arm's share of new visitors right now, from the serving state (not the past exposures)."""
    k = len(experiment.pool.arms)
    if experiment.status == ExperimentStatus.COMPLETED:
        served = experiment.winner_index if experiment.winner_index is not None else experiment.control_index
        return [1.0 if i == served else 0.0 for i in range(k)]
    if experiment.status == ExperimentStatus.PAUSED:
        return [1.0 if i == experiment.control_index else 0.0 for i in range(k)]
    if experiment.allocation == "fixed" and experiment.weights and len(experiment.weights) == k:
        return [float(w) for w in experiment.weights]  # a fixed split serves its weights, whatever the policy holds
    if experiment.status == ExperimentStatus.DRAFT or cache is None or experiment.context_dim is not None:
        return None
    runtime = cache.experiments.get(str(experiment.id))
    if runtime is None or len(runtime.config.arms) != k:
        return None
    try:
        floor = runtime.config.exploration_floor
        shares = np.asarray(runtime.policy.arm_probabilities(runtime.state, floor=floor), dtype=float)
    except Exception:  # a state the policy can't read leaves the column empty rather than the page broken
        return None
    return [float(s) for s in shares] if shares.shape == (k,) and np.isfinite(shares).all() else None


def safe_cell(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


class ResultsService:
    def __init__(self, session: AsyncSession, cache: HotCache | None) -> None:
        self.session = session
        self.cache = cache

    async def experiment(self, principal: Principal, experiment_id: UUID) -> Experiment:
        return await get_owned(
            self.session, Experiment, experiment_id, principal, what="experiment", field="experiment_id"
        )

    async def counters(self, experiment: Experiment) -> Counters:
        """the hourly statistics summed into at most MAX_POINTS buckets, in postgres."""
        k = len(experiment.pool.arms)
        t = ArmStatsHourly
        span = (
            await self.session.execute(
                select(func.min(t.hour), func.max(t.hour), func.max(t.updated_at)).where(
                    t.experiment_id == experiment.id
                )
            )
        ).one()
        first, last, updated_at = span
        if first is None:
            return Counters.empty(k)
        hours = int((last - first).total_seconds() // 3600) + 1
        size = bucket_hours(hours)
        buckets = -(-hours // size)
        bucket = cast(func.floor(func.extract("epoch", t.hour - first) / (3600 * size)), Integer).label("bucket")
        rows = await self.session.execute(
            select(
                bucket,
                t.arm_index,
                func.sum(t.exposures),
                func.sum(t.feedbacks),
                func.sum(t.reward_sum),
                func.sum(t.reward_sum_sq),
            )
            .where(t.experiment_id == experiment.id, t.arm_index < k)
            .group_by(bucket, t.arm_index)
        )
        matrices = np.zeros((4, buckets, k))
        for b, arm, exposures, feedbacks, reward_sum, reward_sum_sq in rows:
            if 0 <= b < buckets and 0 <= arm < k:
                matrices[:, b, arm] = (exposures, feedbacks, reward_sum, reward_sum_sq)
        return Counters(first, size, matrices[0], matrices[1], matrices[2], matrices[3], updated_at)

    async def _span(
        self, model: Any, column: Any, experiment: Experiment, report: ReportFilter | None = None
    ) -> tuple[datetime | None, datetime | None]:
        query = select(func.min(column), func.max(column)).where(model.experiment_id == experiment.id)
        first, last = (await self.session.execute(_in_range(query, column, report))).one()
        return first, last

    async def _grid(
        self,
        model: Any,
        column: Any,
        experiment: Experiment,
        first: datetime,
        last: datetime,
        period: Period,
        report: ReportFilter | None = None,
    ) -> Grid:
        """the rows of ``model`` summed per ``period`` (from the period holding ``first``) and arm, in postgres."""
        k = len(experiment.pool.arms)
        origin = period_origin(first, period)
        count = period_count(origin, last, period)
        bucket = cast(func.floor(func.extract("epoch", column - origin) / period.seconds), Integer).label("bucket")
        query = (
            select(
                bucket,
                model.arm_index,
                func.sum(model.exposures),
                func.sum(model.feedbacks),
                func.sum(model.reward_sum),
                func.sum(model.reward_sum_sq),
            )
            .where(model.experiment_id == experiment.id, model.arm_index < k)
            .group_by(bucket, model.arm_index)
        )
        rows = await self.session.execute(_in_range(query, column, report))
        matrices = np.zeros((4, count, k))
        for b, arm, exposures, feedbacks, reward_sum, reward_sum_sq in rows:
            if 0 <= b < count and 0 <= arm < k:
                matrices[:, b, arm] = (exposures, feedbacks, reward_sum, reward_sum_sq)
        return Grid(origin, period, matrices[0], matrices[1], matrices[2], matrices[3])

    async def chart_grid(
        self, experiment: Experiment, counters: Counters, report: ReportFilter | None = None
    ) -> Grid | None:
        """the over-time charts' counters: per few minutes while the experiment is young and its minute rows are
        all kept (they hold the same events as the hourly ones), else per hours or days from the hourly rows.
        a report filter limits them to its date range, at its granularity when one is chosen."""
        if counters.start is None:
            return None
        if report is not None and not report.is_default:
            first, last = await self._span(ArmStatsHourly, ArmStatsHourly.hour, experiment, report)
            if first is None or last is None:
                # nothing in the range: no charts, rather than the whole experiment's
                empty = np.zeros((0, len(experiment.pool.arms)))
                return Grid(counters.start, report.period or Period("day", 1), empty, empty, empty, empty)
            report.check_points(first, last)
            period = report.period or choose_period((last - first).total_seconds() + 3600, finest="hour")
            return await self._grid(ArmStatsHourly, ArmStatsHourly.hour, experiment, first, last, period, report)
        first, last = await self._span(ArmStatsMinute, ArmStatsMinute.minute, experiment)
        if first is not None and last is not None and first < counters.start + timedelta(hours=1):
            period = choose_period((last - first).total_seconds() + 60)
            if period.unit == "minute":
                grid = await self._grid(ArmStatsMinute, ArmStatsMinute.minute, experiment, first, last, period)
                same = all(
                    np.array_equal(a.sum(axis=0), b.sum(axis=0))
                    for a, b in ((grid.exposures, counters.exposures), (grid.feedbacks, counters.feedbacks))
                )
                if same:
                    return grid
        first, last = await self._span(ArmStatsHourly, ArmStatsHourly.hour, experiment)
        if first is None or last is None:
            return None
        period = choose_period((last - first).total_seconds() + 3600, finest="hour")
        return await self._grid(ArmStatsHourly, ArmStatsHourly.hour, experiment, first, last, period)

    async def results(
        self, principal: Principal, experiment_id: UUID, report: ReportFilter | None = None
    ) -> tuple[Experiment, ResultsView]:
        experiment = await self.experiment(principal, experiment_id)
        return experiment, await self.results_of(experiment, report)

    async def results_of(self, experiment: Experiment, report: ReportFilter | None = None) -> ResultsView:
        arms = experiment.pool.arms
        counters = await self.counters(experiment)
        return build_results(
            names=[a.name for a in arms],
            payloads=[dict(a.payload or {}) for a in arms],
            control=min(experiment.control_index, len(arms) - 1),
            winner=experiment.winner_index if experiment.status == ExperimentStatus.COMPLETED else None,
            conversion=experiment.reward_mode == RewardMode.CONVERSION,
            counters=counters,
            thresholds=thresholds_of(experiment),
            prior=(experiment.prior_alpha, experiment.prior_beta),
            traffic_now=traffic_now(experiment, self.cache),
            grid=await self.chart_grid(experiment, counters, report),
            ranged=report is not None and not report.is_default,
        )

    def totals_csv(self, experiment: Experiment, view: ResultsView) -> str:
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(
            [
                "arm_index", "arm", "control", "winner", "exposures", "conversions" if view.conversion else "feedbacks",
                "trials", "mean", "ci_low", "ci_high", "prob_best", "prob_beat_control", "lift", "lift_ci_low",
                "lift_ci_high", "expected_loss", "traffic_share",
            ]
        )  # fmt: skip
        for arm in view.arms:
            r = arm.result
            writer.writerow(
                [
                    arm.index, safe_cell(arm.name), int(arm.is_control), int(arm.is_winner), arm.exposures,
                    arm.feedbacks, r.trials, r.mean, r.ci_low, r.ci_high, r.prob_best, r.prob_beat_control, r.lift,
                    r.lift_ci_low, r.lift_ci_high, r.expected_loss, r.traffic_share,
                ]
            )  # fmt: skip
        return out.getvalue()

    async def hourly_csv(self, experiment: Experiment) -> str:
        """every hourly row at full resolution (90 days of 10 arms is 21,600 lines, about 1 MB)."""
        names = {a.index: a.name for a in experiment.pool.arms}
        t = ArmStatsHourly
        rows = await self.session.execute(
            select(t.hour, t.arm_index, t.exposures, t.feedbacks, t.reward_sum, t.reward_sum_sq)
            .where(t.experiment_id == experiment.id)
            .order_by(t.hour, t.arm_index)
        )
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(["hour", "arm_index", "arm", "exposures", "feedbacks", "reward_sum", "reward_sum_sq"])
        for hour, arm, exposures, feedbacks, reward_sum, reward_sum_sq in rows:
            writer.writerow(
                [iso_hour(hour), arm, safe_cell(names.get(arm, "")), exposures, feedbacks, reward_sum, reward_sum_sq]
            )
        return out.getvalue()


def _in_range(query: Select[Any], column: Any, report: ReportFilter | None) -> Select[Any]:
    if report is not None and report.low is not None:
        query = query.where(column >= report.low)
    if report is not None and report.high is not None:
        query = query.where(column < report.high)
    return query


def iso_hour(hour: datetime) -> str:
    return hour.strftime("%Y-%m-%dT%H:00:00Z")


def provide_results_service(
    db_session: NamedDependency[AsyncSession], request: Request[Any, Any, Any]
) -> ResultsService:
    return ResultsService(db_session, getattr(request.app.state, "hot_cache", None))
