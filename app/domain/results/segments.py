"""the results broken down by segment: one table per dimension (device, country, language, utm source and
medium, new vs returning), for the page and the csv.

each dimension shows its ``TOP_VALUES`` values with the most visitors; the others are summed into "other" (with
the values the worker already counted as other, app.worker.segments), so a table never grows past a screen.
"""

from __future__ import annotations

import csv
import io
import math
from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models import Experiment, RewardMode, SegmentStatsDaily
from app.domain.results.filters import ReportFilter
from app.stats.frequentist import Sample
from app.stats.segments import ALPHA, SegmentArm, segment_table
from app.targeting.segments import DIMENSIONS, LABELS, MAX_VALUES, NOT_SET, OTHER

TOP_VALUES = 8
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

Counts = list[float]  # exposures, feedbacks, reward_sum, reward_sum_sq


@dataclass(frozen=True)
class SegmentRow:
    value: str
    label: str
    exposures: int
    arms: list[SegmentArm]
    # per arm: conversions (or feedbacks in explicit mode)
    feedbacks: list[int]


@dataclass(frozen=True)
class DimensionTable:
    dimension: str
    label: str
    rows: list[SegmentRow]
    comparisons: int
    # stored values summed into "other" on this table, beyond the ones the worker counted as other
    folded: int

    @property
    def family_confidence(self) -> str:
        return f"{(1 - ALPHA) * 100:g}%"

    @property
    def adjusted_level(self) -> str:
        """each difference's own confidence level under bonferroni, e.g. "99.69%"."""
        return f"{(1 - ALPHA / max(1, self.comparisons)) * 100:.4g}%"


@dataclass(frozen=True)
class SegmentsView:
    binary: bool
    conversion: bool
    names: list[str]
    control: int
    tables: list[DimensionTable]
    top: int = TOP_VALUES
    cap: int = MAX_VALUES

    @property
    def empty(self) -> bool:
        return not any(t.rows for t in self.tables)


def value_label(dimension: str, value: str) -> str:
    if value == NOT_SET:
        return "(not set)"
    if value == OTHER:
        return "Other"
    if dimension in ("device", "visitor"):
        return value.capitalize()
    return value


def top_values(per_value: dict[str, dict[int, Counts]], keep: int = TOP_VALUES) -> tuple[list[str], int]:
    """the values shown on their own (most visitors first, then unset and other last) and how many are folded."""
    totals = {v: sum(c[0] for c in arms.values()) for v, arms in per_value.items()}
    named = sorted((v for v in per_value if v not in (NOT_SET, OTHER)), key=lambda v: (-totals[v], v))
    shown = named[:keep]
    return shown + [v for v in (NOT_SET, OTHER) if v in per_value], max(0, len(named) - keep)


def build_segments(
    rows: list[tuple[str, str, int, float, float, float, float]],
    names: list[str],
    control: int,
    conversion: bool,
    keep: int = TOP_VALUES,
) -> SegmentsView:
    """the tables from (dimension, value, arm, exposures, feedbacks, reward_sum, reward_sum_sq) sums (pure)."""
    k = len(names)
    found: dict[str, dict[str, dict[int, Counts]]] = defaultdict(lambda: defaultdict(dict))
    reward_sum = reward_sum_sq = 0.0
    for dimension, value, arm, *counts in rows:
        if dimension in DIMENSIONS and 0 <= arm < k:
            found[dimension][value][arm] = [float(c or 0) for c in counts]
            if dimension == DIMENSIONS[0]:
                reward_sum, reward_sum_sq = reward_sum + float(counts[2] or 0), reward_sum_sq + float(counts[3] or 0)
    binary = conversion or math.isclose(reward_sum, reward_sum_sq, rel_tol=1e-9, abs_tol=1e-9)
    tables = []
    for dimension in DIMENSIONS:
        per_value = found.get(dimension, {})
        shown, folded = top_values(per_value, keep)
        merged: dict[str, list[Counts]] = {v: [[0.0] * 4 for _ in range(k)] for v in shown}
        for value, arms in per_value.items():
            target = merged[value] if value in merged else merged.setdefault(OTHER, [[0.0] * 4 for _ in range(k)])
            for arm, counts in arms.items():
                target[arm] = [a + b for a, b in zip(target[arm], counts, strict=True)]
        order = [v for v in shown if v != OTHER] + ([OTHER] if OTHER in merged else [])
        samples = [
            [Sample(c[0] if conversion else c[1], c[2], c[3]) for c in merged[v]] for v in order
        ]  # fmt: skip
        exposures = [[c[0] for c in merged[v]] for v in order]
        table, comparisons = segment_table(samples, exposures, control, binary)
        segment_rows = [
            SegmentRow(v, value_label(dimension, v), int(sum(exposures[i])), table[i], [int(c[1]) for c in merged[v]])
            for i, v in enumerate(order)
        ]
        tables.append(DimensionTable(dimension, LABELS[dimension], segment_rows, comparisons, folded))
    return SegmentsView(binary, conversion, names, control, tables, top=keep)


async def load_segments(session: AsyncSession, experiment: Experiment, report: ReportFilter | None) -> SegmentsView:
    """the experiment's segment tables over the report's date range (whole utc days)."""
    t = SegmentStatsDaily
    query = (
        select(
            t.dimension, t.value, t.arm_index, func.sum(t.exposures), func.sum(t.feedbacks), func.sum(t.reward_sum),
            func.sum(t.reward_sum_sq),
        )
        .where(t.experiment_id == experiment.id)
        .group_by(t.dimension, t.value, t.arm_index)
    )  # fmt: skip
    if report is not None and report.low is not None:
        query = query.where(t.day >= report.low)
    if report is not None and report.high is not None:
        query = query.where(t.day < report.high)
    rows = [tuple(r) for r in await session.execute(query)]
    arms = experiment.pool.arms
    return build_segments(
        rows,  # type: ignore[arg-type]
        [a.name for a in arms],
        min(experiment.control_index, len(arms) - 1),
        experiment.reward_mode == RewardMode.CONVERSION,
    )


def _cell(value: str) -> str:
    return "'" + value if value.startswith(FORMULA_START) else value


def _num(value: float | None) -> str:
    return "" if value is None or not math.isfinite(value) else f"{value:.6g}"


def segments_csv(view: SegmentsView) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        [
            "dimension", "value", "arm_index", "arm", "control", "exposures",
            "conversions" if view.conversion else "feedbacks", "trials", "mean", "ci_low", "ci_high",
            "diff_vs_control", "diff_ci_low_adjusted", "diff_ci_high_adjusted", "p_value", "p_value_holm",
            "comparisons",
        ]
    )  # fmt: skip
    for table in view.tables:
        for row in table.rows:
            for arm in row.arms:
                v = arm.versus
                writer.writerow(
                    [
                        table.dimension, _cell(row.value) or "(not set)", arm.arm, _cell(view.names[arm.arm]),
                        int(arm.arm == view.control), arm.exposures, row.feedbacks[arm.arm], int(arm.sample.n),
                        _num(arm.sample.mean),
                        _num(arm.low), _num(arm.high), _num(v.diff if v else None),
                        _num(v.adjusted_low if v else None), _num(v.adjusted_high if v else None),
                        _num(v.p_value if v else None), _num(v.holm_p_value if v else None), table.comparisons,
                    ]
                )  # fmt: skip
    return out.getvalue()
