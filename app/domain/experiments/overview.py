"""the experiments list: status, visitors, leader and its chance to be best, start and age, sorted and
filtered in postgres with two aggregate queries whatever the number of rows (no query per experiment)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any, Literal
from uuid import UUID

import numpy as np
from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models import ArmStatsHourly, Experiment, ExperimentStatus, RewardMode
from app.domain.results.model import choose_kind
from app.domain.results.services import thresholds_of
from app.lib.auth import Principal
from app.stats import ArmTotals, PeriodCounters, analyze

Sort = Literal["newest", "oldest", "name", "status", "visitors", "started"]
Show = Literal["active", "all", "draft", "running", "paused", "completed", "archived"]
SORTS: dict[str, str] = {
    "newest": "Newest first",
    "oldest": "Oldest first",
    "name": "Name",
    "status": "Status",
    "visitors": "Most visitors",
    "started": "Started most recently",
}
SHOWS: dict[str, str] = {
    "active": "Not archived",
    "all": "All, archived too",
    "draft": "Drafts",
    "running": "Running",
    "paused": "Paused",
    "completed": "Completed",
    "archived": "Archived",
}
# running first, then what needs a decision, then drafts and the finished
_STATUS_ORDER = {"running": 0, "paused": 1, "draft": 2, "completed": 3}


@dataclass(frozen=True)
class Leader:
    name: str
    prob_best: float | None  # none for a declared winner (the verdict is a person's, not a probability)
    declared: bool = False


@dataclass(frozen=True)
class Row:
    experiment: Experiment
    visitors: int
    leader: Leader | None


async def overview(session: AsyncSession, principal: Principal, sort: Sort, show: Show) -> list[Row]:
    visitors = (
        select(ArmStatsHourly.experiment_id, func.sum(ArmStatsHourly.exposures).label("visitors"))
        .join(Experiment, Experiment.id == ArmStatsHourly.experiment_id)
        .where(Experiment.organization_id == principal.organization_id)
        .group_by(ArmStatsHourly.experiment_id)
        .subquery()
    )
    count = func.coalesce(visitors.c.visitors, 0)
    query = (
        select(Experiment, count)
        .outerjoin(visitors, visitors.c.experiment_id == Experiment.id)
        .where(Experiment.organization_id == principal.organization_id)
    )
    if show == "active":
        query = query.where(Experiment.archived_at.is_(None))
    elif show == "archived":
        query = query.where(Experiment.archived_at.is_not(None))
    elif show != "all":
        query = query.where(Experiment.archived_at.is_(None), Experiment.status == ExperimentStatus(show))
    started = func.coalesce(Experiment.started_at, Experiment.created_at)
    order: list[Any] = {
        "newest": [Experiment.created_at.desc()],
        "oldest": [Experiment.created_at.asc()],
        "name": [func.lower(Experiment.name).asc()],
        "status": [_status_rank(), Experiment.created_at.desc()],
        "visitors": [count.desc(), Experiment.created_at.desc()],
        # drafts have not started: they go last
        "started": [(Experiment.status == ExperimentStatus.DRAFT).asc(), started.desc()],
    }[sort]
    rows = (await session.execute(query.order_by(*order, Experiment.id))).all()
    experiments = [(e, int(n)) for e, n in rows]
    daily = await _daily(session, [e.id for e, n in experiments if n > 0])
    return [Row(e, n, leader_of(e, daily.get(e.id))) for e, n in experiments]


def _status_rank() -> Any:
    return case(*((Experiment.status == ExperimentStatus(s), rank) for s, rank in _STATUS_ORDER.items()), else_=9)


Daily = dict[int, dict[Any, tuple[float, float, float, float]]]


async def _daily(session: AsyncSession, ids: list[UUID]) -> dict[UUID, Daily]:
    """per experiment, arm and utc day: exposures, feedbacks, reward sum and squared sum (one query)."""
    if not ids:
        return {}
    t = ArmStatsHourly
    day = func.date_trunc("day", t.hour).label("day")
    rows = await session.execute(
        select(
            t.experiment_id,
            t.arm_index,
            day,
            func.sum(t.exposures),
            func.sum(t.feedbacks),
            func.sum(t.reward_sum),
            func.sum(t.reward_sum_sq),
        )
        .where(t.experiment_id.in_(ids))
        .group_by(t.experiment_id, t.arm_index, day)
    )
    out: dict[UUID, Daily] = defaultdict(lambda: defaultdict(dict))
    for experiment_id, arm, when, x, f, s, q in rows:
        out[experiment_id][int(arm)][when] = (float(x), float(f), float(s), float(q))
    return out


def leader_of(experiment: Experiment, daily: Daily | None) -> Leader | None:
    """the declared winner, else the arm most likely best by the results page's analysis (days as strata)."""
    arms = experiment.pool.arms
    winner = experiment.winner_index
    if experiment.status == ExperimentStatus.COMPLETED and winner is not None and winner < len(arms):
        return Leader(arms[winner].name, None, declared=True)
    if not daily or len(arms) < 2:
        return None
    k = len(arms)
    days = sorted({d for per_arm in daily.values() for d in per_arm})
    m = np.zeros((4, len(days), k))
    for arm, per_day in daily.items():
        if 0 <= arm < k:
            for i, d in enumerate(days):
                m[:, i, arm] = per_day.get(d, (0.0, 0.0, 0.0, 0.0))
    exposures, feedbacks, reward_sum, reward_sq = m
    conversion = experiment.reward_mode == RewardMode.CONVERSION
    kind = choose_kind(conversion, float(reward_sum.sum()), float(reward_sq.sum()))
    trials = exposures if conversion else feedbacks
    if trials.sum() <= 0:
        return None
    totals = [
        ArmTotals(
            name=a.name,
            trials=int(trials[:, a.index].sum()),
            successes=float(reward_sum[:, a.index].sum()),
            sum_sq=float(reward_sq[:, a.index].sum()),
        )
        for a in arms
    ]
    prior = (experiment.prior_alpha, experiment.prior_beta) if kind == "binary" else (1.0, 1.0)
    analysis = analyze(
        totals,
        kind,
        control=min(experiment.control_index, k - 1),
        thresholds=thresholds_of(experiment),
        prior=prior,
        periods=PeriodCounters(trials, reward_sum, reward_sq),
    )
    best = max(range(k), key=lambda i: analysis.arms[i].prob_best)
    return Leader(arms[best].name, float(analysis.arms[best].prob_best))
