"""Bayesian analytics of experiments: pure numpy/scipy, no I/O.

``analyze`` summarises the arms of an experiment and recommends what to do, ``density_curves`` and
``time_series`` feed the charts, ``arm_interval`` serves the REST stats endpoint.
"""

from app.stats.analysis import analyze, arm_interval, density_curves
from app.stats.models import (
    AnalysisWarning,
    ArmResult,
    ArmTotals,
    BanditValue,
    DecisionThresholds,
    ExperimentAnalysis,
    Kind,
    PeriodCounters,
    Recommendation,
    RecommendationKind,
    TimeSeries,
)
from app.stats.series import time_series

__all__ = [
    "AnalysisWarning",
    "ArmResult",
    "ArmTotals",
    "BanditValue",
    "DecisionThresholds",
    "ExperimentAnalysis",
    "Kind",
    "PeriodCounters",
    "Recommendation",
    "RecommendationKind",
    "TimeSeries",
    "analyze",
    "arm_interval",
    "density_curves",
    "time_series",
]
