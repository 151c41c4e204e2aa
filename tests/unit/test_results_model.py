"""the results page model: bucketing, the analysis it carries, chart series and csv safety."""

from __future__ import annotations

from datetime import UTC, datetime

import msgspec
import numpy as np
import pytest

from app.domain.results.model import (
    BUCKET_STEPS,
    MAX_POINTS,
    Counters,
    bucket_hours,
    build_results,
    choose_kind,
    downsample,
    payload_summary,
)
from app.domain.results.services import safe_cell
from app.stats import ArmTotals, DecisionThresholds, PeriodCounters, analyze

START = datetime(2026, 8, 1, tzinfo=UTC)


def counters(
    exposures: np.ndarray, conversions: np.ndarray, size: int = 1, squares: np.ndarray | None = None
) -> Counters:
    squares = conversions if squares is None else squares
    return Counters(START, size, exposures, conversions.copy(), conversions, squares)


def build(c: Counters, names: list[str] | None = None, **kw: object) -> object:
    names = names or [f"arm{i}" for i in range(c.exposures.shape[1])]
    args = {
        "names": names,
        "payloads": [{"text": n} for n in names],
        "control": 0,
        "winner": None,
        "conversion": True,
        "counters": c,
        "thresholds": DecisionThresholds(),
    }
    return build_results(**(args | kw))  # type: ignore[arg-type]


@pytest.mark.parametrize("hours", [1, 99, 100, 101, 500, 24 * 30, 2160, 24 * 365, 24 * 365 * 30])
def test_bucketing_keeps_at_most_max_points(hours: int) -> None:
    size = bucket_hours(hours)
    assert -(-hours // size) <= MAX_POINTS
    finer = [s for s in BUCKET_STEPS if s < size]
    assert not finer or -(-hours // finer[-1]) > MAX_POINTS  # and is the finest readable step that fits
    assert bucket_hours(2160) == 24  # 90 days: one point a day


def test_downsample_sums_groups_and_keeps_a_short_tail() -> None:
    matrix = np.arange(14, dtype=float).reshape(7, 2)
    out = downsample(matrix, 3)
    assert out.tolist() == [[6, 9], [24, 27], [12, 13]]
    assert downsample(np.zeros((0, 3)), 4).shape == (0, 3)


def test_the_model_carries_the_exact_analysis_and_the_current_allocation() -> None:
    rng = np.random.default_rng(1)
    exposures = rng.poisson(50, size=(40, 3)).astype(float)
    conversions = rng.binomial(exposures.astype(int), [0.04, 0.06, 0.05]).astype(float)
    view = build(counters(exposures, conversions), traffic_now=[0.1, 0.7, 0.2], control=2)
    totals = [
        ArmTotals(f"arm{i}", int(exposures[:, i].sum()), float(conversions[:, i].sum()), traffic_share=s)
        for i, s in enumerate([0.1, 0.7, 0.2])
    ]
    # the page stratifies by its chart periods (here one per hour), so it passes them along
    expected = analyze(totals, "binary", control=2, periods=PeriodCounters(exposures, conversions, conversions))
    assert [a.result for a in view.arms] == expected.arms
    assert view.recommendation == expected.recommendation
    assert [a.cells["traffic_share"] for a in view.arms] == ["10%", "70%", "20%"]
    assert view.arms[2].is_control and view.arms[2].cells["lift"] == "—"
    assert view.arms[1].cells["lift"].startswith(("+", "-"))
    assert view.total_exposures == int(exposures.sum())


def test_without_traffic_there_is_no_recommendation_and_no_time_charts() -> None:
    view = build(Counters.empty(2))
    assert view.recommendation is None and view.total_exposures == 0
    assert set(view.charts) == {"density"} and len(view.charts["density"]["x"]) == 120


def test_time_series_hide_arms_before_their_first_visitor() -> None:
    exposures = np.array([[10, 0], [10, 0], [10, 10], [10, 10]], dtype=float)
    conversions = np.array([[1, 0], [0, 0], [1, 2], [1, 1]], dtype=float)
    view = build(counters(exposures, conversions, size=6))
    rate = view.charts["rate"]
    assert np.isnan(rate["series"][1][0]) and not np.isnan(rate["series"][1][2])
    assert rate["low"][0][3] <= rate["series"][0][3] <= rate["high"][0][3]
    traffic = np.array(view.charts["traffic"]["series"])
    assert np.allclose(traffic.sum(axis=0), 100.0)
    assert np.isnan(view.charts["prob_best"]["series"][0][0])  # no comparison before every arm has data
    assert view.tables["rate"]["rows"][0]["values"][1] == "—"
    # hours are labelled from the bucket start, 6 hours apart
    assert view.tables["traffic"]["rows"][1]["label"] == "2026-08-01 06:00"
    encoded = msgspec.json.decode(msgspec.json.encode(view.charts))
    assert encoded["rate"]["series"][1][0] is None  # nan becomes null for chart.js


def test_revenue_per_visitor_uses_the_continuous_model() -> None:
    rng = np.random.default_rng(2)
    feedbacks = np.full((10, 2), 100.0)
    revenue = rng.gamma(2.0, 20.0, size=(10, 2)) * 10
    squares = revenue**2 / 5
    c = Counters(START, 1, feedbacks, feedbacks, revenue, squares)
    view = build(c, conversion=False)
    assert view.kind == "continuous" and view.metric == "Mean reward per visitor"
    for arm in view.arms:
        assert arm.result.ci_low <= arm.result.mean <= arm.result.ci_high
        assert "%" not in arm.cells["rate"]


def test_kind_and_payload_summary() -> None:
    assert choose_kind(True, 5.0, 99.0) == "binary"
    assert choose_kind(False, 5.0, 5.0) == "binary"  # 0/1 rewards
    assert choose_kind(False, 5.0, 9.5) == "continuous"
    assert payload_summary({}) == "leaves the page as it is"
    summary = payload_summary({"text": "Buy", "style": {"color": "red"}, "attributes": {"title": "x"}})
    assert summary == "text “Buy”, style color: red, attributes title=x"


def test_csv_cells_never_start_a_formula() -> None:
    assert safe_cell("=1+1") == "'=1+1" and safe_cell("+x") == "'+x" and safe_cell("@a") == "'@a"
    assert safe_cell("Green") == "Green" and safe_cell(3) == 3
