"""the classic (frequentist) figures of the stats api and the results page, from each arm's totals."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import msgspec
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
    samples: Sequence[Sample],
    exposures: Sequence[float],
    control: int,
    binary: bool,
    weights: Sequence[float] | None,
) -> ClassicResults:
    """`samples` are each arm's trials and reward sums; `weights` the fixed split's (none for a bandit, whose
    exposures follow the policy and can't be checked for a sample ratio mismatch)."""
    base = samples[control]
    arms = []
    for index, (name, sample) in enumerate(zip(names, samples, strict=True)):
        low, high = wilson_interval(sample.total, sample.n) if binary else (None, None)
        usable = index != control and sample.n > 0 and base.n > 0
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
                versus_control=compare(sample, base, binary) if usable else None,
            )
        )
    srm = srm_p_value(exposures, weights) if weights is not None and len(weights) == len(samples) else None
    return ClassicResults(binary=binary, arms=arms, srm_p_value=srm, weights=list(weights) if weights else None)


def classic_of(experiment: Experiment, arms: list[ArmStats], totals: dict[int, Any]) -> ClassicResults:
    conversion = experiment.reward_mode == RewardMode.CONVERSION
    samples = []
    for arm in arms:
        _, feedbacks, reward_sum, reward_sum_sq, _ = totals.get(arm.index, (0, 0, 0.0, 0.0, None))
        trials = arm.exposures if conversion else int(feedbacks)
        samples.append(Sample(trials, float(reward_sum), float(reward_sum_sq)))
    binary = conversion or all(math.isclose(s.total, s.total_sq) for s in samples)
    weights = experiment.weights if experiment.allocation == "fixed" else None
    control = min(experiment.control_index, len(arms) - 1)
    names = [a.name for a in arms]
    return classic_results(names, samples, [a.exposures for a in arms], control, binary, weights)


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
    """the results page's classic view, from the experiment's hourly statistics summed per arm."""
    t = ArmStatsHourly
    rows = await session.execute(
        select(
            t.arm_index, func.sum(t.exposures), func.sum(t.feedbacks), func.sum(t.reward_sum), func.sum(t.reward_sum_sq)
        )
        .where(t.experiment_id == experiment.id)
        .group_by(t.arm_index)
    )
    totals = {row[0]: (*row[1:], None) for row in rows}
    arms = [
        ArmStats(
            name=arm.name,
            index=arm.index,
            exposures=int(totals.get(arm.index, (0,))[0]),
            feedbacks=0,
            reward_sum=0.0,
            mean=0.0,
            ci_low=0.0,
            ci_high=0.0,
        )
        for arm in experiment.pool.arms
    ]
    return classic_of(experiment, arms, totals)
