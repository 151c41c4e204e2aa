"""feature gates: saved in postgres, validated when saved, published to redis for the hot path."""

from __future__ import annotations

import secrets
from typing import Any
from uuid import UUID

import msgspec
from litestar import Request
from litestar.di import NamedDependency
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models import Experiment, FeatureGate, HoldoutStatsHourly, RewardMode
from app.domain.gates.schemas import Gate, GateCreate, GateUpdate, HoldoutArm, HoldoutStats, Rule, Schedule
from app.lib.auth import Principal
from app.lib.errors import ConflictError, InvalidInputError
from app.lib.tenancy import get_owned
from app.runtime.publish import Publisher
from app.targeting import ConditionError, RuleError, compile_rules
from app.targeting import Schedule as TargetSchedule
from app.targeting.schedule import localize


def gate_out(gate: FeatureGate) -> Gate:
    return Gate(
        id=gate.id,
        experiment_id=gate.experiment_id,
        name=gate.name,
        enabled=gate.enabled,
        rollout_percent=gate.rollout_percent,
        default_arm=gate.default_arm,
        schedule=msgspec.convert(gate.schedule, Schedule) if gate.schedule else None,
        rules=msgspec.convert(gate.rules or [], list[Rule]),
        created_at=gate.created_at,
        updated_at=gate.updated_at,
    )


def normalise_rules(rules: list[Rule], n_arms: int) -> list[dict[str, Any]]:
    """rule dicts with an id each (r1, r2, ... where none was given), checked: RuleError names the rule."""
    taken = {r.id for r in rules if r.id}
    plain: list[dict[str, Any]] = []
    counter = 0
    for rule in rules:
        rule_id = rule.id
        while not rule_id:
            counter += 1
            rule_id = f"r{counter}" if f"r{counter}" not in taken else None
        taken.add(rule_id)
        body = msgspec.to_builtins(rule)
        body["id"] = rule_id
        body.setdefault("arm", None)
        plain.append(body)
    try:
        compile_rules(plain, n_arms)
    except RuleError as exc:
        raise InvalidInputError(exc.message, field=exc.field) from exc
    return plain


def normalise_schedule(schedule: Schedule | None) -> dict[str, Any] | None:
    if schedule is None:
        return None
    try:
        TargetSchedule.build(
            timezone=schedule.timezone,
            start=schedule.start,
            end=schedule.end,
            days=list(schedule.days),
            hours_from=schedule.hours_from,
            hours_to=schedule.hours_to,
        )
    except ConditionError as exc:
        raise InvalidInputError(exc.message, field=f"schedule.{exc.field}") from exc
    # naive times are wall-clock times in the schedule's zone: stored with their offset, so they mean one instant
    start = localize(schedule.start, schedule.timezone).isoformat() if schedule.start else None
    end = localize(schedule.end, schedule.timezone).isoformat() if schedule.end else None
    return {
        "timezone": schedule.timezone,
        "start": start,
        "end": end,
        "days": sorted(set(schedule.days)),
        "hours_from": schedule.hours_from,
        "hours_to": schedule.hours_to,
    }


class GateService:
    def __init__(self, session: AsyncSession, publisher: Publisher) -> None:
        self.session = session
        self.publisher = publisher

    async def list(self, principal: Principal, experiment_id: UUID | None = None) -> list[FeatureGate]:
        query = select(FeatureGate).where(FeatureGate.organization_id == principal.organization_id)
        if experiment_id is not None:
            query = query.where(FeatureGate.experiment_id == experiment_id)
        return list(await self.session.scalars(query.order_by(FeatureGate.created_at.desc())))

    async def get(self, principal: Principal, gate_id: UUID) -> FeatureGate:
        return await get_owned(self.session, FeatureGate, gate_id, principal, what="gate", field="gate_id")

    async def experiment(self, principal: Principal, experiment_id: UUID) -> Experiment:
        return await get_owned(
            self.session, Experiment, experiment_id, principal, what="experiment", field="experiment_id"
        )

    async def create(self, principal: Principal, data: GateCreate) -> FeatureGate:
        experiment = await self.experiment(principal, data.experiment_id)
        n_arms = len(experiment.pool.arms)
        _check_arm(data.default_arm, n_arms)
        gate = FeatureGate(
            organization_id=principal.organization_id,
            experiment_id=experiment.id,
            name=data.name.strip() or f"{experiment.name} gate",
            enabled=data.enabled,
            rollout_percent=data.rollout_percent,
            default_arm=data.default_arm,
            salt=secrets.token_hex(8),
            schedule=normalise_schedule(data.schedule),
            rules=normalise_rules(data.rules, n_arms),
        )
        self.session.add(gate)
        try:
            async with self.session.begin_nested():
                await self.session.flush()
        except IntegrityError as exc:
            raise ConflictError("this experiment already has a gate", field="experiment_id") from exc
        await self.publisher.gate(gate, archived=experiment.archived_at is not None)
        return gate

    async def update(self, principal: Principal, gate_id: UUID, data: GateUpdate) -> FeatureGate:
        gate = await self.get(principal, gate_id)
        experiment = await self.experiment(principal, gate.experiment_id)
        n_arms = len(experiment.pool.arms)
        if data.name is not msgspec.UNSET:
            gate.name = data.name.strip() or gate.name
        if data.enabled is not msgspec.UNSET:
            gate.enabled = data.enabled
        if data.rollout_percent is not msgspec.UNSET:
            gate.rollout_percent = data.rollout_percent
        if data.default_arm is not msgspec.UNSET:
            _check_arm(data.default_arm, n_arms)
            gate.default_arm = data.default_arm
        if data.schedule is not msgspec.UNSET:
            gate.schedule = normalise_schedule(data.schedule)
        if data.rules is not msgspec.UNSET:
            gate.rules = normalise_rules(data.rules, n_arms)
        await self.session.flush()
        await self.session.refresh(gate, ["updated_at"])
        await self.publisher.gate(gate, archived=experiment.archived_at is not None)
        return gate

    async def delete(self, principal: Principal, gate_id: UUID) -> None:
        gate = await self.get(principal, gate_id)
        experiment_id = str(gate.experiment_id)
        await self.session.delete(gate)
        await self.session.flush()
        await self.publisher.remove_gate(experiment_id)


def _check_arm(arm: int | None, n_arms: int) -> None:
    if arm is not None and not 0 <= arm < n_arms:
        raise InvalidInputError(f"default_arm must be between 0 and {n_arms - 1}", field="default_arm")


async def holdout_stats(session: AsyncSession, experiment: Experiment) -> HoldoutStats:
    """what the gate served outside the bandit, per arm and reason; never part of the arms' results."""
    rows = (
        await session.execute(
            select(
                HoldoutStatsHourly.arm_index,
                HoldoutStatsHourly.reason,
                func.sum(HoldoutStatsHourly.exposures),
                func.sum(HoldoutStatsHourly.feedbacks),
                func.sum(HoldoutStatsHourly.reward_sum),
            )
            .where(HoldoutStatsHourly.experiment_id == experiment.id)
            .group_by(HoldoutStatsHourly.arm_index, HoldoutStatsHourly.reason)
            .order_by(HoldoutStatsHourly.arm_index, HoldoutStatsHourly.reason)
        )
    ).all()
    names = {arm.index: arm.name for arm in experiment.pool.arms}
    arms = [
        HoldoutArm(
            index=index,
            name=names.get(index, f"arm {index}"),
            reason=reason,
            exposures=int(x),
            feedbacks=int(f),
            reward_sum=float(s),
        )
        for index, reason, x, f, s in rows
    ]
    exposures = sum(a.exposures for a in arms)
    feedbacks = sum(a.feedbacks for a in arms)
    reward_sum = sum(a.reward_sum for a in arms)
    trials = exposures if experiment.reward_mode == RewardMode.CONVERSION else feedbacks
    return HoldoutStats(
        exposures=exposures,
        feedbacks=feedbacks,
        reward_sum=reward_sum,
        mean=reward_sum / trials if trials else None,
        arms=arms,
    )


def provide_gate_service(db_session: NamedDependency[AsyncSession], request: Request[Any, Any, Any]) -> GateService:
    return GateService(db_session, request.app.state.publisher)
