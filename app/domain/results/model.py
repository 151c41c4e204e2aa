"""pure part of the results page: counters in, a JSON-ready page model out (no i/o).

``build_results`` takes per-arm totals and a bucketed time grid (see ``bucket_hours``: the hourly
statistics summed into at most ``MAX_POINTS`` buckets, because the per-hour posterior series costs
~20-40 ms per 100 points at 10 arms) and runs ``app.stats`` on them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np

from app.domain.results.charts import EN_DASH, Grid, density_chart, rate_label, time_charts
from app.domain.results.periods import Period
from app.stats import (
    AnalysisWarning,
    ArmResult,
    ArmTotals,
    BanditValue,
    DecisionThresholds,
    Kind,
    PeriodCounters,
    Recommendation,
    analyze,
)
from app.stats.decision import significant

MAX_POINTS = 100
BUCKET_STEPS = (1, 2, 3, 4, 6, 8, 12, 24, 48, 72, 168, 336, 720)


def bucket_hours(span_hours: int, max_points: int = MAX_POINTS) -> int:
    """hours per chart point: the finest of a few readable steps (hours, days, weeks) that keeps a span of
    ``span_hours`` within ``max_points`` points; 90 days give one point a day."""
    span = max(1, span_hours)
    for size in BUCKET_STEPS:
        if -(-span // size) <= max_points:
            return size
    return math.ceil(span / max_points)


def downsample(matrix: np.ndarray, size: int) -> np.ndarray:
    """sums consecutive groups of ``size`` rows of an (hours, arms) matrix; the last group may be short."""
    hours = matrix.shape[0]
    groups = math.ceil(hours / size) if hours else 0
    padded = np.zeros((groups * size, matrix.shape[1]))
    padded[:hours] = matrix
    return padded.reshape(groups, size, matrix.shape[1]).sum(axis=1)


@dataclass(frozen=True)
class Counters:
    """what the statistics tables hold for one experiment, already summed per arm and per time bucket.

    ``exposures``/``feedbacks``/``reward_sum``/``reward_sum_sq`` are (buckets, arms) matrices whose
    row i covers the ``bucket_hours`` hours from ``start + i * bucket_hours``.
    """

    start: datetime | None
    bucket_hours: int
    exposures: np.ndarray
    feedbacks: np.ndarray
    reward_sum: np.ndarray
    reward_sum_sq: np.ndarray
    updated_at: datetime | None = None

    @classmethod
    def empty(cls, arms: int) -> Counters:
        zero = np.zeros((0, arms))
        return cls(None, 1, zero, zero, zero, zero)


@dataclass(frozen=True)
class ArmView:
    index: int
    name: str
    is_control: bool
    is_winner: bool
    exposures: int
    feedbacks: int
    result: ArmResult
    shows: str
    cells: dict[str, str]


@dataclass(frozen=True)
class ResultsView:
    kind: Kind
    conversion: bool
    metric: str
    arms: list[ArmView]
    recommendation: Recommendation | None
    total_exposures: int
    total_feedbacks: int
    updated_at: datetime | None
    method: str
    warnings: list[AnalysisWarning] = field(default_factory=list)
    bandit_value: BanditValue | None = None
    bandit_value_text: str = ""
    # the rate column's heading, which the rate chart's axis shares (one basis, one name)
    rate_label: str = ""
    charts: dict[str, Any] = field(default_factory=dict)
    tables: dict[str, Any] = field(default_factory=dict)


def choose_kind(conversion: bool, reward_sum: float, reward_sum_sq: float) -> Kind:
    # 0/1 rewards are the only ones whose squares sum to their sum: those get the beta posterior
    if conversion or math.isclose(reward_sum_sq, reward_sum, rel_tol=1e-9, abs_tol=1e-9):
        return "binary"
    return "continuous"


def pct(value: float, decimals: int = 2) -> str:
    return f"{value * 100:.{decimals}f}%"


def probability(value: float) -> str:
    if value > 0.999:
        return ">99.9%"
    if value < 0.001:
        return "<0.1%"
    return f"{value * 100:.1f}%"


def signed_pct(value: float) -> str:
    return f"{value * 100:+.1f}%"


def metric_value(value: float, kind: Kind) -> str:
    return pct(value) if kind == "binary" else f"{value:,.3f}"


def loss_value(value: float, kind: Kind) -> str:
    # a conversion rate's loss reads best in percentage points, with the recommendation's two significant figures
    return f"{significant(value * 100)} pts" if kind == "binary" else significant(value)


def payload_summary(payload: dict[str, Any]) -> str:
    parts = []
    if payload.get("text"):
        parts.append(f"text “{payload['text']}”")
    if payload.get("html"):
        parts.append("custom HTML")
    if payload.get("redirect"):
        parts.append(f"redirect to {payload['redirect']}")
    if payload.get("class"):
        parts.append(f"class {payload['class']}")
    if payload.get("style"):
        parts.append("style " + "; ".join(f"{k}: {v}" for k, v in payload["style"].items()))
    if payload.get("attributes"):
        parts.append("attributes " + ", ".join(f"{k}={v}" for k, v in payload["attributes"].items()))
    return ", ".join(parts) or "leaves the page as it is"


def _cells(r: ArmResult, kind: Kind, is_control: bool, relative: bool) -> dict[str, str]:
    compare = not is_control and r.trials > 0
    seen = r.trials > 0
    if relative or not compare:
        lift = signed_pct(r.lift) if compare else "—"
        lift_interval = f"{signed_pct(r.lift_ci_low)} to {signed_pct(r.lift_ci_high)}" if compare else ""
    else:
        # a relative lift over a control near zero means nothing (+16,538%): show the absolute difference
        lift = signed_diff(r.diff, kind)
        lift_interval = f"{signed_diff(r.diff_ci_low, kind)} to {signed_diff(r.diff_ci_high, kind)}"
    return {
        "rate": metric_value(r.observed_mean, kind) if seen else "—",
        "low": metric_value(r.ci_low, kind),
        "high": metric_value(r.ci_high, kind),
        "interval": f"{metric_value(r.ci_low, kind)} {EN_DASH} {metric_value(r.ci_high, kind)}"
        if seen
        else "no visitors yet",
        "prob_best": probability(r.prob_best) if seen else "—",
        "prob_beat_control": probability(r.prob_beat_control) if compare else "—",
        "lift": lift,
        "lift_interval": lift_interval,
        "expected_loss": loss_value(r.expected_loss, kind) if seen else "—",
        "traffic_share": pct(r.traffic_share, 0) if r.traffic_share is not None else "—",
    }


def signed_diff(value: float, kind: Kind) -> str:
    return f"{value * 100:+.2f} pts" if kind == "binary" else f"{value:+,.3f}"


def bandit_value_text(value: BanditValue | None, kind: Kind) -> str:
    """the headline a marketer reports: what adapting the split gained over an even split so far."""
    if value is None:
        return ""
    unit = "conversions" if kind == "binary" else "in total reward"
    verb = "gained" if value.gained >= 0 else "lost"
    return (
        f"{abs(value.gained):,.0f} {unit} {verb} versus an even split so far "
        f"(95% interval {value.low:+,.0f} to {value.high:+,.0f})"
    )


def build_results(
    *,
    names: list[str],
    payloads: list[dict[str, Any]],
    control: int,
    winner: int | None,
    conversion: bool,
    counters: Counters,
    thresholds: DecisionThresholds,
    prior: tuple[float, float] = (1.0, 1.0),
    traffic_now: list[float] | None = None,
    grid: Grid | None = None,
    ranged: bool = False,
) -> ResultsView:
    """the results page's model from per-bucket counters (see ``Counters``); the over-time charts use
    ``grid`` when given (a period fitted to the experiment's age, app.domain.results.periods). ``ranged``: the
    grid covers a report range, not the whole experiment the table covers."""
    k = len(names)
    exposures = counters.exposures.sum(axis=0) if counters.exposures.size else np.zeros(k)
    feedbacks = counters.feedbacks.sum(axis=0) if counters.feedbacks.size else np.zeros(k)
    reward_sum = counters.reward_sum.sum(axis=0) if counters.reward_sum.size else np.zeros(k)
    reward_sq = counters.reward_sum_sq.sum(axis=0) if counters.reward_sum_sq.size else np.zeros(k)
    kind = choose_kind(conversion, float(reward_sum.sum()), float(reward_sq.sum()))
    trials = exposures if conversion else feedbacks
    trials_matrix = counters.exposures if conversion else counters.feedbacks
    # the stored prior is the beta one; continuous rewards get app.stats' pooled normal-gamma default
    used_prior = prior if kind == "binary" else (1.0, 1.0)
    shares = traffic_now if traffic_now is not None and len(traffic_now) == k else None
    totals = [
        ArmTotals(
            name=names[i],
            trials=int(trials[i]),
            successes=float(reward_sum[i]),
            sum_sq=float(reward_sq[i]),
            traffic_share=float(min(max(shares[i], 0.0), 1.0)) if shares is not None else None,
        )
        for i in range(k)
    ]
    # the analysis compares arms within the chart's periods, so drift and a moving split don't fool it
    periods = (
        PeriodCounters(trials_matrix, counters.reward_sum, counters.reward_sum_sq)
        if trials_matrix.shape[0] > 0 and trials_matrix.shape[1] == k
        else None
    )
    analysis = analyze(totals, kind, control=control, thresholds=thresholds, prior=used_prior, periods=periods)
    arms = [
        ArmView(
            index=i,
            name=names[i],
            is_control=i == control,
            is_winner=winner == i,
            exposures=int(exposures[i]),
            feedbacks=int(feedbacks[i]),
            result=r,
            shows=payload_summary(payloads[i]),
            cells=_cells(r, kind, i == control, analysis.relative_lift),
        )
        for i, r in enumerate(analysis.arms)
    ]
    view = ResultsView(
        kind=kind,
        conversion=conversion,
        metric="Conversion rate" if kind == "binary" else "Mean reward per visitor",
        arms=arms,
        recommendation=analysis.recommendation if trials.sum() > 0 else None,
        total_exposures=int(exposures.sum()),
        total_feedbacks=int(feedbacks.sum()),
        updated_at=counters.updated_at,
        method=analysis.method,
        warnings=analysis.warnings,
        bandit_value=analysis.bandit_value,
        bandit_value_text=bandit_value_text(analysis.bandit_value, kind),
        rate_label=rate_label(kind),
    )
    # the rate chart is compared within the analysis's periods, so it ends on the table's rate
    strata = None if ranged else grid_of(counters)
    _add_charts(view, totals, used_prior, grid if grid is not None else strata, names, strata)
    return view


def grid_of(counters: Counters) -> Grid | None:
    """the analysis's own buckets as the charts' grid, when no finer one was loaded."""
    if counters.start is None or not counters.exposures.shape[0]:
        return None
    period = Period("hour", counters.bucket_hours)
    return Grid(
        counters.start, period, counters.exposures, counters.feedbacks, counters.reward_sum, counters.reward_sum_sq
    )


def _add_charts(
    view: ResultsView,
    totals: list[ArmTotals],
    prior: tuple[float, float],
    grid: Grid | None,
    names: list[str],
    strata: Grid | None = None,
) -> None:
    view.charts["density"] = density_chart(names, totals, view.kind, prior)
    view.tables["density"] = {
        "names": names,
        "rows": [
            {"label": a.name, "values": [a.cells["low"], metric_value(a.result.mean, view.kind), a.cells["high"]]}
            for a in view.arms
        ],
    }
    if grid is not None and grid.exposures.shape[0]:
        charts, tables = time_charts(names, view.kind, prior, grid, view.conversion, strata)
        view.charts.update(charts)
        view.tables.update(tables)
