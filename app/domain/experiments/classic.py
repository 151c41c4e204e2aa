"""the classic (frequentist) figures of the stats api and the results page, from each arm's totals."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

import msgspec
import numpy as np
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models import ArmStatsHourly, Experiment, RewardMode
from app.domain.experiments.schemas import ArmStats
from app.stats.frequentist import Comparison, Sample, compare, srm_p_value, wilson_interval

# below this the results page warns that the split itself is broken
SRM_ALARM = 0.001


@dataclass(frozen=True)
class ClassicArm:
    index: int
    name: str
    exposures: int
    trials: int
    mean: float
    is_control: bool
    wilson_low: float | None
    wilson_high: float | None
    versus_control: Comparison | None


@dataclass(frozen=True)
class ClassicResults:
    binary: bool
    arms: list[ClassicArm]
    srm_p_value: float | None
    weights: list[float] | None

    @property
    def srm_alarm(self) -> bool:
        return self.srm_p_value is not None and self.srm_p_value < SRM_ALARM


def classic_results(
    names: Sequence[str],
    looks: Sequence[Sequence[Sample]],
    exposures: Sequence[float],
    control: int,
    binary: bool,
    weights: Sequence[float] | None,
) -> ClassicResults:
    """`looks` are each arm's cumulative trials and reward sums at the end of every day so far (the last is
    the total); `weights` the fixed split's (none for a bandit, whose exposures follow the policy and can't be
    checked for a sample ratio mismatch). the always-valid p-value is the running minimum over the looks."""
    samples = looks[-1] if looks else [Sample(0, 0.0, 0.0) for _ in names]
    base = samples[control]
    arms = []
    for index, (name, sample) in enumerate(zip(names, samples, strict=True)):
        low, high = wilson_interval(sample.total, sample.n) if binary else (None, None)
        versus = None
        if index != control and sample.n > 0 and base.n > 0:
            versus = compare(sample, base, binary)
            earlier = [
                compare(look[index], look[control], binary).always_valid_p_value
                for look in looks[:-1]
                if look[index].n > 0 and look[control].n > 0
            ]
            versus = replace(versus, always_valid_p_value=min([versus.always_valid_p_value, *earlier]))
        arms.append(
            ClassicArm(
                index=index,
                name=name,
                exposures=int(exposures[index]),
                trials=int(sample.n),
                mean=sample.mean,
                is_control=index == control,
                wilson_low=low,
                wilson_high=high,
                versus_control=versus,
            )
        )
    srm = srm_p_value(exposures, weights) if weights is not None and len(weights) == len(samples) else None
    return ClassicResults(binary=binary, arms=arms, srm_p_value=srm, weights=list(weights) if weights else None)


def with_classic(arm: ArmStats, classic: ClassicArm) -> ArmStats:
    versus = classic.versus_control
    return msgspec.structs.replace(
        arm,
        wilson_low=classic.wilson_low,
        wilson_high=classic.wilson_high,
        p_value=versus.p_value if versus else None,
        always_valid_p_value=versus.always_valid_p_value if versus else None,
        diff_ci_low=versus.diff_ci_low if versus else None,
        diff_ci_high=versus.diff_ci_high if versus else None,
        lift=versus.lift if versus else None,
        lift_ci_low=versus.lift_ci_low if versus else None,
        lift_ci_high=versus.lift_ci_high if versus else None,
    )


async def load_classic(session: AsyncSession, experiment: Experiment) -> ClassicResults:
    """the classic view from the experiment's hourly statistics, summed per arm and day (one look a day)."""
    t = ArmStatsHourly
    day = func.date_trunc("day", t.hour).label("day")
    k = len(experiment.pool.arms)
    rows = (
        await session.execute(
            select(
                day, t.arm_index, func.sum(t.exposures), func.sum(t.feedbacks), func.sum(t.reward_sum),
                func.sum(t.reward_sum_sq),
            )
            .where(t.experiment_id == experiment.id, t.arm_index < k)
            .group_by(day, t.arm_index)
            .order_by(day)
        )
    ).all()  # fmt: skip
    days = sorted({row[0] for row in rows})
    position = {d: i for i, d in enumerate(days)}
    per_day = np.zeros((4, len(days), k))
    for d, arm, *values in rows:
        per_day[:, position[d], arm] = [float(v or 0) for v in values]
    cumulative = per_day.cumsum(axis=1)
    conversion = experiment.reward_mode == RewardMode.CONVERSION
    trials = cumulative[0] if conversion else cumulative[1]
    looks = [
        [Sample(float(trials[d, a]), float(cumulative[2, d, a]), float(cumulative[3, d, a])) for a in range(k)]
        for d in range(len(days))
    ]
    final = looks[-1] if looks else []
    binary = conversion or all(math.isclose(s.total, s.total_sq) for s in final)
    weights = experiment.weights if experiment.allocation == "fixed" else None
    exposures = cumulative[0, -1].tolist() if days else [0.0] * k
    control = min(experiment.control_index, k - 1)
    names = [a.name for a in experiment.pool.arms]
    return classic_results(names, looks, exposures, control, binary, weights)
