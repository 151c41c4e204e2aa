"""the results page's charts and the tables under them, as json-ready dicts (pure, no i/o).

the over-time charts read a ``Grid``: per-period counters whose period adapts to the experiment's age
(app.domain.results.periods), each event counted in its exposure's period. the cumulative rate chart plots the
arm table's own estimate on the data up to each point (app.stats.running), compared within the analysis's
periods, so its last point is the table's rate.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np

from app.domain.results.periods import Period
from app.stats import ArmTotals, Kind, density_curves
from app.stats import time_series as stats_time_series
from app.stats.running import running_estimate

EN_DASH = "\u2013"
DENSITY_POINTS = 120
TABLE_ROWS = 24
MARKER_RADIUS = 4
# a series this short gets a marker on every point: every arm stays visible, even with one point
ALL_MARKERS_UP_TO = 12
# dash patterns and point shapes tell arms apart without colour (chart.js borderDash / pointStyle)
DASHES = [[], [8, 4], [2, 3], [12, 4, 2, 4], [4, 4], [16, 6], [1, 5], [8, 3, 2, 3, 2, 3], [20, 4], [6, 2]]
POINTS = ["circle", "rect", "triangle", "rectRot", "crossRot", "star", "cross", "rectRounded", "line", "dash"]
COLOURS = ["#0b5cad", "#c2410c", "#15803d", "#7e22ce", "#b91c1c", "#0e7490", "#a16207", "#be185d", "#4d7c0f", "#475569"]

Format = Callable[[float], str]


@dataclass(frozen=True)
class Grid:
    """(periods, arms) counters; row i covers ``period`` from ``start + i * period``."""

    start: datetime
    period: Period
    exposures: np.ndarray
    feedbacks: np.ndarray
    reward_sum: np.ndarray
    reward_sum_sq: np.ndarray

    @property
    def starts(self) -> list[datetime]:
        step = timedelta(seconds=self.period.seconds)
        return [self.start + i * step for i in range(self.exposures.shape[0])]


def marker_radii(count: int, arm: int) -> list[int]:
    """each point's marker size for one arm's line: all points of a short series, else a marker every few
    points (offset per arm so markers don't sit on each other) and always the last one."""
    if count <= ALL_MARKERS_UP_TO:
        return [MARKER_RADIUS] * count
    every = max(4, round(count / 10))
    return [MARKER_RADIUS if (i + arm * 3) % every == 0 or i == count - 1 else 0 for i in range(count)]


def rounded(values: np.ndarray, digits: int = 6) -> list[float]:
    """plain floats for the chart json; nan (no data yet) is encoded as null by msgspec."""
    result: list[float] = np.round(np.asarray(values, dtype=float), digits).tolist()
    return result


def arm_styles(names: list[str]) -> list[dict[str, Any]]:
    return [
        {"name": n, "colour": COLOURS[i % 10], "dash": DASHES[i % 10], "point": POINTS[i % 10]}
        for i, n in enumerate(names)
    ]


def density_chart(names: list[str], totals: list[ArmTotals], kind: Kind, prior: tuple[float, float]) -> dict[str, Any]:
    scale = 100.0 if kind == "binary" else 1.0
    x, y = density_curves(totals, kind, prior, points=DENSITY_POINTS)
    return {
        "type": "density",
        "unit": "%" if kind == "binary" else "",
        "x": rounded(x * scale, 5),
        "arms": arm_styles(names),
        "y": [rounded(row / scale, 5) for row in y],
        "radius": [marker_radii(len(x), i) for i in range(len(names))],
    }


def _picks(count: int) -> list[int]:
    """a few evenly spaced rows for a chart's table, always ending with the latest one."""
    step = max(1, math.ceil(count / TABLE_ROWS))
    return list(range(count - 1, -1, -step))[::-1]


def series_table(labels: list[str], names: list[str], values: np.ndarray, fmt: Format) -> dict[str, Any]:
    """a few evenly spaced rows of a chart's data, for the table under it (the csv has every hour)."""
    rows = [
        {"label": labels[i], "values": [fmt(v) if np.isfinite(v) else "—" for v in values[i, : len(names)]]}
        for i in _picks(len(labels))
    ]
    return {"names": names, "rows": rows}


def band_table(
    labels: list[str], names: list[str], mean: np.ndarray, low: np.ndarray, high: np.ndarray, fmt: Format
) -> dict[str, Any]:
    def cell(i: int, j: int) -> str:
        if not np.isfinite(mean[i, j]):
            return "—"
        return f"{fmt(mean[i, j])} ({fmt(low[i, j])} {EN_DASH} {fmt(high[i, j])})"

    rows = [{"label": labels[i], "values": [cell(i, j) for j in range(len(names))]} for i in _picks(len(labels))]
    return {"names": names, "rows": rows}


def rate_label(kind: Kind) -> str:
    """the one name of the table's rate column and the rate chart's axis."""
    return "Cumulative conversion rate" if kind == "binary" else "Cumulative mean reward per visitor"


def nests(fine: Grid, coarse: Grid) -> bool:
    """whether every period of ``fine`` lies inside one period of ``coarse`` (minutes inside hours)."""
    step, outer = fine.period.seconds, coarse.period.seconds
    offset = (fine.start - coarse.start).total_seconds()
    return outer % step == 0 and offset % step == 0 and offset >= 0


def strata_of(fine: Grid, coarse: Grid) -> np.ndarray:
    """the index of the ``coarse`` period holding each period of ``fine`` (which ``nests`` in it)."""
    offset = (fine.start - coarse.start).total_seconds()
    return (offset + np.arange(fine.exposures.shape[0]) * fine.period.seconds) // coarse.period.seconds


def traffic_shares(grid: Grid) -> np.ndarray:
    """each arm's share of each period's exposures (holdout excluded), whatever the reward mode."""
    per_period = grid.exposures.sum(axis=1, keepdims=True)
    return np.divide(grid.exposures, per_period, out=np.full_like(grid.exposures, np.nan), where=per_period > 0)


def axis(grid: Grid, names: list[str]) -> dict[str, Any]:
    count = grid.exposures.shape[0]
    return {
        "labels": [grid.period.axis_label(t) for t in grid.starts],
        "period": grid.period.describe(),
        "arms": arm_styles(names),
        "radius": [marker_radii(count, j) for j in range(len(names))],
    }


def rate_chart(
    names: list[str], kind: Kind, prior: tuple[float, float], grid: Grid, conversion: bool, strata: Grid | None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """the table's rate on the data up to each point, with its 95% band. ``strata`` are the analysis's periods:
    the chart keeps ``grid``'s points when they nest in them, else it is drawn on them; none (a report range,
    which the table does not follow) compares the arms within ``grid``'s own periods."""
    if strata is not None and not nests(grid, strata):
        grid = strata
    groups = strata_of(grid, strata) if strata is not None else None
    trials = grid.exposures if conversion else grid.feedbacks
    run = running_estimate(
        trials,
        grid.reward_sum,
        kind,
        sum_sq=grid.reward_sum_sq if kind == "continuous" else None,
        prior=prior,
        strata=groups,
    )
    scale = 100.0 if kind == "binary" else 1.0
    seen = run.cumulative_trials > 0
    mean, low, high = (np.where(seen, v * scale, np.nan) for v in (run.mean, run.low, run.high))
    arms = range(len(names))
    chart = {
        **axis(grid, names),
        "type": "band",
        "unit": "%" if kind == "binary" else "",
        "label": rate_label(kind) + (" (%)" if kind == "binary" else ""),
        "series": [rounded(mean[:, j], 5) for j in arms],
        "low": [rounded(low[:, j], 5) for j in arms],
        "high": [rounded(high[:, j], 5) for j in arms],
    }
    fmt_value: Format = (lambda v: f"{v:.2f}%") if kind == "binary" else (lambda v: f"{v:,.3f}")
    labels = [grid.period.label(t) for t in grid.starts]
    return chart, band_table(labels, names, mean, low, high, fmt_value)


def time_charts(
    names: list[str],
    kind: Kind,
    prior: tuple[float, float],
    grid: Grid,
    conversion: bool,
    strata: Grid | None = None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """the traffic, chance-to-be-best and cumulative-rate charts, and their tables (``strata``: see rate_chart)."""
    trials = grid.exposures if conversion else grid.feedbacks
    series = stats_time_series(
        trials, grid.reward_sum, kind, sum_sq=grid.reward_sum_sq if kind == "continuous" else None, prior=prior
    )
    seen = series.cumulative_trials > 0
    prob_best = np.where(seen.all(axis=1, keepdims=True), series.prob_best, np.nan)
    share = traffic_shares(grid)
    arms = range(len(names))
    base = axis(grid, names)
    rate, rate_table = rate_chart(names, kind, prior, grid, conversion, strata)
    charts = {
        "traffic": {**base, "type": "share", "series": [rounded(share[:, j] * 100, 2) for j in arms]},
        "prob_best": {**base, "type": "share", "series": [rounded(prob_best[:, j] * 100, 2) for j in arms]},
        "rate": rate,
    }
    labels = [grid.period.label(t) for t in grid.starts]
    as_pct: Format = lambda v: f"{v:.1f}%"  # noqa: E731
    tables = {
        "traffic": series_table(labels, names, share * 100, as_pct),
        "prob_best": series_table(labels, names, prob_best * 100, as_pct),
        "rate": rate_table,
    }
    return charts, tables
