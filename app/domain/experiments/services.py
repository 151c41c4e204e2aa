from __future__ import annotations

import math
import re
import secrets
from typing import Any
from uuid import UUID

import msgspec
from litestar import Request
from litestar.di import NamedDependency
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.bandits import PolicyError, get_policy
from app.db.models import ArmStatsHourly, Experiment, ExperimentParams, ExperimentStatus, Pool, RewardMode, Site
from app.domain.experiments.schemas import ArmStats, Decision, ExperimentCreate, ExperimentStats, ExperimentUpdate
from app.domain.experiments.schemas import Experiment as ExperimentOut
from app.domain.gates.services import holdout_stats
from app.domain.tag.goals import validate_goal
from app.lib.auth import Principal
from app.lib.errors import ConflictError, InvalidInputError
from app.lib.publish import Publisher
from app.lib.snapshot import DEFAULT_REWARD_MAX
from app.lib.tenancy import get_owned
from app.stats import arm_interval

# which status changes a person may ask for; completed is final
TRANSITIONS: dict[ExperimentStatus, set[ExperimentStatus]] = {
    ExperimentStatus.DRAFT: {ExperimentStatus.RUNNING, ExperimentStatus.COMPLETED},
    ExperimentStatus.RUNNING: {ExperimentStatus.PAUSED, ExperimentStatus.COMPLETED},
    ExperimentStatus.PAUSED: {ExperimentStatus.RUNNING, ExperimentStatus.COMPLETED},
    ExperimentStatus.COMPLETED: set(),
}


def experiment_out(e: Experiment) -> ExperimentOut:
    return ExperimentOut(
        id=e.id,
        key=e.key,
        name=e.name,
        pool_id=e.pool_id,
        site_id=e.site_id,
        protocol=e.protocol,
        protocol_params=e.protocol_params,
        context_dim=e.context_dim,
        reward_mode=e.reward_mode.value,
        status=e.status.value,
        traffic_percent=e.traffic_percent,
        control_index=e.control_index,
        winner_index=e.winner_index,
        attribution_window_seconds=e.attribution_window_seconds,
        goal=e.goal,
        decision=decision_of(e),
        created_at=e.created_at,
        updated_at=e.updated_at,
        reward_max=reward_max_of(e),
    )


REWARD_MAX_LIMIT = 1e9


def check_reward_max(value: float | None) -> None:
    """a bound on |reward| keeps every policy and statistic finite: positive, and small enough that sums of
    squares of billions of rewards stay far from overflowing."""
    if value is not None and not (math.isfinite(value) and 0.0 < value <= REWARD_MAX_LIMIT):
        raise InvalidInputError(f"reward_max must be above 0 and at most {REWARD_MAX_LIMIT:g}", field="reward_max")


async def set_aside_events(session: AsyncSession, experiment_id: UUID) -> int:
    """events the worker could not train on (app.worker.robust): neither learnt nor counted in the results."""
    return int(
        await session.scalar(select(ExperimentParams.set_aside).where(ExperimentParams.experiment_id == experiment_id))
        or 0
    )


def reward_max_of(e: Experiment) -> float:
    return e.reward_max or DEFAULT_REWARD_MAX


def decision_of(e: Experiment) -> Decision:
    return Decision(
        prob_best=e.decision_prob_best,
        max_expected_loss=e.decision_max_expected_loss,
        min_trials_per_arm=e.decision_min_trials_per_arm,
        practical_difference=e.decision_practical_difference,
        prior_alpha=e.prior_alpha,
        prior_beta=e.prior_beta,
    )


def apply_decision(e: Experiment, decision: Decision) -> None:
    e.decision_prob_best = decision.prob_best
    e.decision_max_expected_loss = decision.max_expected_loss
    e.decision_min_trials_per_arm = decision.min_trials_per_arm
    e.decision_practical_difference = decision.practical_difference
    e.prior_alpha = decision.prior_alpha
    e.prior_beta = decision.prior_beta


def validate_policy(protocol: str, params: dict[str, Any], context_dim: int | None) -> dict[str, Any]:
    try:
        policy = get_policy(protocol)
        normalised = policy.validate_params(dict(params))
    except PolicyError as exc:
        field = "protocol" if exc.field == "protocol" else f"protocol_params.{exc.field}"
        raise InvalidInputError(str(exc), field=field) from exc
    if policy.kind == "contextual" and context_dim is None:
        raise InvalidInputError(f"{protocol} is contextual: set context_dim", field="context_dim")
    return normalised


def slugify(name: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:40] or "experiment"
    return f"{slug}-{secrets.token_hex(3)}"


class ExperimentService:
    def __init__(self, session: AsyncSession, publisher: Publisher) -> None:
        self.session = session
        self.publisher = publisher

    async def list(self, principal: Principal) -> list[Experiment]:
        rows = await self.session.scalars(
            select(Experiment)
            .where(Experiment.organization_id == principal.organization_id)
            .order_by(Experiment.created_at.desc())
        )
        return list(rows)

    async def get(self, principal: Principal, experiment_id: UUID) -> Experiment:
        return await get_owned(
            self.session, Experiment, experiment_id, principal, what="experiment", field="experiment_id"
        )

    async def create(self, principal: Principal, data: ExperimentCreate) -> Experiment:
        pool = await self._pool(principal, data.pool_id)
        if data.site_id is not None:
            await self._site(principal, data.site_id)
        params = validate_policy(data.protocol, data.protocol_params, data.context_dim)
        self._check_arm_index(pool, data.control_index, "control_index")
        validate_goal(data.goal)  # stored as given, so the form reads back what it wrote
        check_reward_max(data.reward_max)
        experiment = Experiment(
            organization_id=principal.organization_id,
            pool_id=pool.id,
            site_id=data.site_id,
            key=data.key or slugify(data.name),
            name=data.name,
            protocol=data.protocol,
            protocol_params=params,
            context_dim=data.context_dim,
            reward_mode=RewardMode(data.reward_mode),
            status=ExperimentStatus(data.status),
            traffic_percent=data.traffic_percent,
            control_index=data.control_index,
            attribution_window_seconds=data.attribution_window_seconds,
            goal=data.goal,
            seed=data.seed if data.seed is not None else secrets.randbelow(2**31),
            reward_max=data.reward_max,
        )
        apply_decision(experiment, data.decision or Decision())
        experiment.pool = pool
        self.session.add(experiment)
        await self._flush_unique_key()
        await self.publisher.experiment(experiment)
        return experiment

    async def update(self, principal: Principal, experiment_id: UUID, data: ExperimentUpdate) -> Experiment:
        experiment = await self.get(principal, experiment_id)
        changes = {f: getattr(data, f) for f in data.__struct_fields__ if getattr(data, f) is not msgspec.UNSET}
        started = experiment.status != ExperimentStatus.DRAFT
        for field in ("protocol", "reward_mode", "context_dim"):
            if field in changes and started and changes[field] != _value(getattr(experiment, field)):
                raise ConflictError(f"{field} can't change once the experiment has started", field=field)
        if "status" in changes:
            target = ExperimentStatus(changes.pop("status"))
            if target != experiment.status and target not in TRANSITIONS[experiment.status]:
                raise ConflictError(f"can't go from {experiment.status.value} to {target.value}", field="status")
            experiment.status = target
        if "site_id" in changes and changes["site_id"] is not None:
            await self._site(principal, changes["site_id"])
        for field in ("control_index", "winner_index"):
            if changes.get(field) is not None:
                self._check_arm_index(experiment.pool, changes[field], field)
        if any(f in changes for f in ("protocol", "protocol_params", "context_dim")):
            changes["protocol_params"] = validate_policy(
                changes.get("protocol", experiment.protocol),
                changes.get("protocol_params", experiment.protocol_params),
                changes.get("context_dim", experiment.context_dim),
            )
        if "goal" in changes:
            validate_goal(changes["goal"])
        if "reward_max" in changes:
            check_reward_max(changes["reward_max"])
        if "reward_mode" in changes:
            changes["reward_mode"] = RewardMode(changes["reward_mode"])
        if "decision" in changes:
            apply_decision(experiment, changes.pop("decision"))
        for field, value in changes.items():
            setattr(experiment, field, value)
        await self.session.flush()
        await self.session.refresh(experiment, ["updated_at"])
        await self.publisher.experiment(experiment)
        return experiment

    async def delete(self, principal: Principal, experiment_id: UUID) -> None:
        experiment = await self.get(principal, experiment_id)
        await self.session.delete(experiment)
        await self.session.flush()
        await self.publisher.remove_experiment(str(experiment_id))

    async def stats(self, principal: Principal, experiment_id: UUID) -> ExperimentStats:
        experiment = await self.get(principal, experiment_id)
        rows = await self.session.execute(
            select(
                ArmStatsHourly.arm_index,
                func.sum(ArmStatsHourly.exposures),
                func.sum(ArmStatsHourly.feedbacks),
                func.sum(ArmStatsHourly.reward_sum),
                func.sum(ArmStatsHourly.reward_sum_sq),
                func.max(ArmStatsHourly.hour),
            )
            .where(ArmStatsHourly.experiment_id == experiment.id)
            .group_by(ArmStatsHourly.arm_index)
        )
        totals = {row[0]: row[1:] for row in rows}
        updated_at = await self.session.scalar(
            select(func.max(ArmStatsHourly.updated_at)).where(ArmStatsHourly.experiment_id == experiment.id)
        )
        arms = []
        for arm in experiment.pool.arms:
            exposures, feedbacks, reward_sum, reward_sum_sq, _ = totals.get(arm.index, (0, 0, 0.0, 0.0, None))
            conversion = experiment.reward_mode == RewardMode.CONVERSION
            trials = int(exposures) if conversion else int(feedbacks)
            # 0/1 rewards are the only ones whose squares sum to their sum: those get the beta posterior
            binary = conversion or math.isclose(float(reward_sum_sq), float(reward_sum))
            kind = "binary" if binary else "continuous"
            mean, low, high = arm_interval(kind, trials, float(reward_sum), float(reward_sum_sq))
            arms.append(
                ArmStats(
                    name=arm.name,
                    index=arm.index,
                    exposures=int(exposures),
                    feedbacks=int(feedbacks),
                    reward_sum=float(reward_sum),
                    mean=mean,
                    ci_low=low,
                    ci_high=high,
                )
            )
        return ExperimentStats(
            experiment_id=experiment.id,
            reward_mode=experiment.reward_mode.value,
            arms=arms,
            updated_at=updated_at,
            holdout=await holdout_stats(self.session, experiment),
        )

    async def _pool(self, principal: Principal, pool_id: UUID) -> Pool:
        return await get_owned(self.session, Pool, pool_id, principal, what="pool", field="pool_id")

    async def _site(self, principal: Principal, site_id: UUID) -> Site:
        return await get_owned(self.session, Site, site_id, principal, what="site", field="site_id")

    @staticmethod
    def _check_arm_index(pool: Pool, index: int, field: str) -> None:
        if not 0 <= index < len(pool.arms):
            raise InvalidInputError(f"{field} must be between 0 and {len(pool.arms) - 1}", field=field)

    async def _flush_unique_key(self) -> None:
        try:
            async with self.session.begin_nested():
                await self.session.flush()
        except IntegrityError as exc:
            raise ConflictError("another experiment already uses this key", field="key") from exc


def _value(value: Any) -> Any:
    return getattr(value, "value", value)


def provide_experiment_service(
    db_session: NamedDependency[AsyncSession], request: Request[Any, Any, Any]
) -> ExperimentService:
    return ExperimentService(db_session, request.app.state.publisher)
