from __future__ import annotations

import math
import re
import secrets
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import msgspec
from litestar import Request
from litestar.di import NamedDependency
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.bandits import PolicyError, get_policy
from app.bandits.floor import check_floor
from app.db.models import (
    ArmStatsHourly,
    Experiment,
    ExperimentParams,
    ExperimentStatus,
    FeatureGate,
    Pool,
    RewardMode,
    Site,
)
from app.db.models.event_log import event_log
from app.domain.experiments import lifecycle
from app.domain.experiments.classic import load_classic, with_classic
from app.domain.experiments.schemas import (
    AllocationChange,
    ArmStats,
    Decision,
    ExperimentCreate,
    ExperimentStats,
    ExperimentUpdate,
    Guardrail,
    PausedArm,
)
from app.domain.experiments.schemas import Experiment as ExperimentOut
from app.domain.gates.services import holdout_stats
from app.domain.guardrails.editing import set_paused_arms, stored_guardrails
from app.domain.tag.goals import validate_goal
from app.lib.auth import Principal
from app.lib.errors import ConflictError, InvalidInputError
from app.lib.tenancy import get_owned
from app.runtime.publish import Publisher
from app.runtime.records import DEFAULT_REWARD_MAX
from app.stats import arm_interval
from app.stats.models import Kind
from app.targeting.split import SplitError, check_weights, equal_weights, rebalance

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
        exploration_floor=e.exploration_floor,
        created_at=e.created_at,
        updated_at=e.updated_at,
        guardrails=[msgspec.convert(g, Guardrail) for g in e.guardrails or []],
        auto_ship=e.auto_ship,
        auto_drop=e.auto_drop,
        paused_arms=[msgspec.convert(p, PausedArm) for p in e.paused_arms or []],
        allocation=e.allocation,
        weights=e.weights,
        split_ranges=e.split_ranges if e.allocation == "fixed" else None,
        allocation_history=[
            AllocationChange(at=datetime.fromisoformat(h["at"]), allocation=h["allocation"], weights=h.get("weights"))
            for h in e.allocation_history or []
        ],
        results_view=e.results_view,
        archived_at=e.archived_at,
        undo_until=lifecycle.undo_until(e),
        started_at=e.start_date,
        days_running=e.days_running,
        reward_max=reward_max_of(e),
    )


def apply_allocation(e: Experiment, allocation: str, weights: Sequence[float] | None, n_arms: int) -> None:
    """sets the allocation; a fixed split keeps its ranges across weight changes (fewest visitors move)."""
    if weights is not None:
        try:
            weights = check_weights(weights, n_arms)
        except SplitError as exc:
            raise InvalidInputError(str(exc), field="weights") from exc
    elif allocation == "fixed":
        weights = e.weights if e.weights and len(e.weights) == n_arms else equal_weights(n_arms)
    changed = allocation != e.allocation or list(weights or []) != list(e.weights or [])
    e.allocation = allocation
    e.weights = list(weights) if weights is not None else None
    if allocation == "fixed":
        current = [(int(a), int(b), int(c)) for a, b, c in e.split_ranges or []]
        e.split_ranges = [list(r) for r in rebalance(current, e.weights or [])]
    if changed:
        entry = {"at": datetime.now(UTC).isoformat(), "allocation": allocation, "weights": e.weights}
        e.allocation_history = [*(e.allocation_history or []), entry]


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


def default_protocol(reward_mode: str) -> str:
    # measured with `levers simulate` (bench/drift.py): stratified_ts is not fooled by a weekday/weekend swing
    return "stratified_ts" if reward_mode == "conversion" else "beta_ts"


def validate_floor(floor: float) -> float:
    try:
        return check_floor(floor)
    except PolicyError as exc:
        raise InvalidInputError(str(exc), field="exploration_floor") from exc


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
        protocol = data.protocol or default_protocol(data.reward_mode)
        params = validate_policy(protocol, data.protocol_params, data.context_dim)
        floor = validate_floor(data.exploration_floor)
        self._check_arm_index(pool, data.control_index, "control_index")
        validate_goal(data.goal)  # stored as given, so the form reads back what it wrote
        check_reward_max(data.reward_max)
        experiment = Experiment(
            organization_id=principal.organization_id,
            pool_id=pool.id,
            site_id=data.site_id,
            key=data.key or slugify(data.name),
            name=data.name,
            protocol=protocol,
            protocol_params=params,
            context_dim=data.context_dim,
            reward_mode=RewardMode(data.reward_mode),
            status=ExperimentStatus(data.status),
            traffic_percent=data.traffic_percent,
            control_index=data.control_index,
            attribution_window_seconds=data.attribution_window_seconds,
            goal=data.goal,
            guardrails=stored_guardrails(data.guardrails, data.goal),
            auto_ship=data.auto_ship,
            auto_drop=data.auto_drop,
            paused_arms=[],
            seed=data.seed if data.seed is not None else secrets.randbelow(2**31),
            exploration_floor=floor,
            reward_max=data.reward_max,
        )
        apply_decision(experiment, data.decision or Decision())
        if experiment.status == ExperimentStatus.RUNNING:
            experiment.started_at = datetime.now(UTC)
        # no allocation yet, so the first one is recorded in the history
        experiment.allocation_history, experiment.allocation = [], ""
        experiment.results_view = data.results_view
        apply_allocation(experiment, data.allocation, data.weights, len(pool.arms))
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
        before, winner_before = experiment.status, experiment.winner_index
        if "status" in changes:
            target = ExperimentStatus(changes.pop("status"))
            if target != experiment.status and experiment.archived_at is not None:
                raise ConflictError("the experiment is archived: restore it first", field="status")
            if target != experiment.status and target not in TRANSITIONS[experiment.status]:
                raise ConflictError(f"can't go from {experiment.status.value} to {target.value}", field="status")
            experiment.status = target
            if target == ExperimentStatus.RUNNING and experiment.started_at is None:
                experiment.started_at = datetime.now(UTC)
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
        if "exploration_floor" in changes:
            changes["exploration_floor"] = validate_floor(changes["exploration_floor"])
        if "guardrails" in changes or "goal" in changes:
            current = changes.get("guardrails", [msgspec.convert(g, Guardrail) for g in experiment.guardrails or []])
            changes["guardrails"] = stored_guardrails(current, changes.get("goal", experiment.goal))
        if "paused_arms" in changes:
            self.session.add_all(set_paused_arms(experiment, changes.pop("paused_arms"), principal))
        if "reward_max" in changes:
            check_reward_max(changes["reward_max"])
        if "reward_mode" in changes:
            changes["reward_mode"] = RewardMode(changes["reward_mode"])
        if "decision" in changes:
            apply_decision(experiment, changes.pop("decision"))
        if "allocation" in changes or "weights" in changes:
            n_arms = len(experiment.pool.arms)
            allocation = changes.pop("allocation", experiment.allocation)
            # an explicit null puts a fixed split back to equal weights; leaving weights out keeps them
            reset = "weights" in changes and changes["weights"] is None and allocation == "fixed"
            weights = equal_weights(n_arms) if reset else changes.pop("weights", None)
            changes.pop("weights", None)
            apply_allocation(experiment, allocation, weights, n_arms)
        for field, value in changes.items():
            setattr(experiment, field, value)
        lifecycle.record_change(experiment, before, winner_before, _actor(principal))
        return await self._save(experiment)

    async def _save(self, experiment: Experiment) -> Experiment:
        await self.session.flush()
        await self.session.refresh(experiment, ["updated_at"])
        await self.publisher.experiment(experiment)
        return experiment

    async def undo(self, principal: Principal, experiment_id: UUID) -> Experiment:
        """takes back a stop or a declared winner made within lifecycle.UNDO_SECONDS."""
        experiment = await self.get(principal, experiment_id)
        lifecycle.undo(experiment)
        return await self._save(experiment)

    async def archive(self, principal: Principal, experiment_id: UUID) -> Experiment:
        experiment = await self.get(principal, experiment_id)
        lifecycle.archive(experiment)
        return await self._save(experiment)

    async def restore(self, principal: Principal, experiment_id: UUID) -> Experiment:
        experiment = await self.get(principal, experiment_id)
        lifecycle.restore(experiment)
        await self._save(experiment)
        gate = await self.session.scalar(select(FeatureGate).where(FeatureGate.experiment_id == experiment.id))
        if gate is not None:
            await self.publisher.gate(gate)
        return experiment

    async def duplicate(self, principal: Principal, experiment_id: UUID) -> Experiment:
        experiment = await self.get(principal, experiment_id)
        gate = await self.session.scalar(select(FeatureGate).where(FeatureGate.experiment_id == experiment.id))
        copy, copy_gate = lifecycle.duplicate(experiment, gate, principal, slugify(experiment.name))
        self.session.add(copy)
        await self._flush_unique_key()
        if copy_gate is not None:
            copy_gate.experiment_id = copy.id
            self.session.add(copy_gate)
            await self.session.flush()
            await self.publisher.gate(copy_gate)
        await self.publisher.experiment(copy)
        return copy

    async def delete(self, principal: Principal, experiment_id: UUID) -> None:
        experiment = await self.get(principal, experiment_id)
        # the event log has no foreign key to cascade (app.db.models.event_log): its rows go here, once the row
        # lock keeps the worker (which share-locks the experiments of its batch) from appending more
        await self.session.execute(select(Experiment.id).where(Experiment.id == experiment.id).with_for_update())
        await self.session.execute(delete(event_log).where(event_log.c.experiment_id == experiment.id))
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
            kind: Kind = "binary" if binary else "continuous"
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
        classic = await load_classic(self.session, experiment)
        return ExperimentStats(
            experiment_id=experiment.id,
            reward_mode=experiment.reward_mode.value,
            arms=[with_classic(arm, c) for arm, c in zip(arms, classic.arms, strict=True)],
            updated_at=updated_at,
            holdout=await holdout_stats(self.session, experiment),
            srm_p_value=classic.srm_p_value,
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


def _actor(principal: Principal) -> str:
    return f"user:{principal.user_id}" if principal.user_id else f"api_key:{principal.api_key_id}"


def _value(value: Any) -> Any:
    return getattr(value, "value", value)


def provide_experiment_service(
    db_session: NamedDependency[AsyncSession], request: Request[Any, Any, Any]
) -> ExperimentService:
    return ExperimentService(db_session, request.app.state.publisher)
