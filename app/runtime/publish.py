"""copies what the hot path needs from postgres to redis, and bumps the version every web process watches."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any
from uuid import UUID

from redis.asyncio import Redis
from redis.exceptions import RedisError
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models import ApiKey, Experiment, FeatureGate, MemberChange, Site
from app.runtime.keys import RedisKeys
from app.runtime.records import (
    DEFAULT_REWARD_MAX,
    ApiKeyConfig,
    ArmConfig,
    ExperimentConfig,
    GateConfig,
    RuleConditionConfig,
    RuleConfig,
    ScheduleConfig,
    SiteConfig,
    encode,
)
from app.runtime.redis import reply, transaction
from app.runtime.store import RuntimeStore


def experiment_config(experiment: Experiment) -> ExperimentConfig:
    return ExperimentConfig(
        id=str(experiment.id),
        organization_id=str(experiment.organization_id),
        key=experiment.key,
        name=experiment.name,
        site_id=str(experiment.site_id) if experiment.site_id else None,
        protocol=experiment.protocol,
        protocol_params=dict(experiment.protocol_params or {}),
        context_dim=experiment.context_dim,
        reward_mode=experiment.reward_mode.value,
        status=experiment.status.value,
        traffic_percent=experiment.traffic_percent,
        control_index=experiment.control_index,
        winner_index=experiment.winner_index,
        seed=experiment.seed,
        attribution_window_seconds=experiment.attribution_window_seconds,
        arms=[
            ArmConfig(index=arm.index, name=arm.name, metadata=arm.arm_metadata or {}, payload=arm.payload or {})
            for arm in experiment.pool.arms
        ],
        goal=dict(experiment.goal or {}),
        exploration_floor=experiment.exploration_floor,
        guardrails=[str(g["goal"]) for g in experiment.guardrails or [] if isinstance(g, dict) and "goal" in g],
        paused_arms=sorted({int(p["index"]) for p in experiment.paused_arms or [] if isinstance(p, dict)}),
        allocation=experiment.allocation,
        weights=list(experiment.weights) if experiment.weights else None,
        split=[list(r) for r in experiment.split_ranges] if experiment.split_ranges else None,
        reward_max=experiment.reward_max or DEFAULT_REWARD_MAX,
    )


def _instant(value: Any) -> float | None:
    return datetime.fromisoformat(value).timestamp() if value else None


def gate_config(gate: FeatureGate) -> GateConfig:
    schedule = None
    if gate.schedule:
        raw = gate.schedule
        schedule = ScheduleConfig(
            timezone=raw.get("timezone") or "UTC",
            start=_instant(raw.get("start")),
            end=_instant(raw.get("end")),
            days=list(raw.get("days") or []),
            hours_from=raw.get("hours_from"),
            hours_to=raw.get("hours_to"),
        )
    return GateConfig(
        id=str(gate.id),
        experiment_id=str(gate.experiment_id),
        organization_id=str(gate.organization_id),
        enabled=gate.enabled,
        rollout_percent=gate.rollout_percent,
        salt=gate.salt,
        default_arm=gate.default_arm,
        rules=[
            RuleConfig(
                id=rule["id"],
                action=rule["action"],
                arm=rule.get("arm"),
                condition=RuleConditionConfig(
                    attribute=rule["condition"]["attribute"],
                    operator=rule["condition"]["operator"],
                    value=rule["condition"].get("value"),
                    ignore_case=bool(rule["condition"].get("ignore_case", False)),
                ),
            )
            for rule in gate.rules or []
        ],
        schedule=schedule,
    )


def site_config(site: Site) -> SiteConfig:
    return SiteConfig(
        id=str(site.id),
        organization_id=str(site.organization_id),
        public_key=site.public_key,
        allowed_origins=list(site.allowed_origins or []),
    )


class Publisher:
    def __init__(
        self, redis: Redis, keys: RedisKeys, after_change: Callable[[], Awaitable[None]] | None = None
    ) -> None:
        self.redis = redis
        self.keys = keys
        # what management code may read of the runtime's redis
        self.store = RuntimeStore(redis, keys)
        # this process reads its own writes at once; the others within one cache refresh
        self.after_change = after_change

    async def _changed(self) -> None:
        if self.after_change is not None:
            with contextlib.suppress(RedisError, OSError):
                await self.after_change()

    async def experiment(self, experiment: Experiment) -> None:
        if experiment.archived_at is not None:
            await self.withdraw_experiment(str(experiment.id))
            return
        await self._set(self.keys.experiments, str(experiment.id), encode(experiment_config(experiment)))

    async def withdraw_experiment(self, experiment_id: str) -> None:
        """an archived experiment stops being served; its learnt params stay, for a restore to pick up."""
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hdel(self.keys.experiments, experiment_id)
            pipe.hdel(self.keys.gates, experiment_id)
            pipe.incr(self.keys.config_version)
            await pipe.execute()
        await self._changed()

    async def remove_experiment(self, experiment_id: str) -> None:
        async with transaction(self.redis) as pipe:
            pipe.hdel(self.keys.experiments, experiment_id)
            pipe.hdel(self.keys.gates, experiment_id)
            pipe.delete(self.keys.params(experiment_id))
            pipe.incr(self.keys.config_version)
            await pipe.execute()
        await self._changed()

    async def gate(self, gate: FeatureGate, archived: bool = False) -> None:
        if archived:
            return
        await self._set(self.keys.gates, str(gate.experiment_id), encode(gate_config(gate)))

    async def remove_gate(self, experiment_id: str) -> None:
        await self._delete(self.keys.gates, experiment_id)

    async def site(self, site: Site) -> None:
        await self._set(self.keys.sites, site.public_key, encode(site_config(site)))

    async def remove_site(self, public_key: str) -> None:
        await self._delete(self.keys.sites, public_key)

    async def api_key(self, key: ApiKey) -> None:
        config = ApiKeyConfig(id=str(key.id), organization_id=str(key.organization_id))
        await self._set(self.keys.api_keys, key.key_hash, encode(config))

    async def remove_api_key(self, key_hash: str) -> None:
        await self._delete(self.keys.api_keys, key_hash)

    async def everything(self, session: AsyncSession) -> None:
        """rebuilds the whole published configuration, e.g. after redis lost it."""
        experiments = (await session.scalars(select(Experiment).where(Experiment.archived_at.is_(None)))).all()
        sites = (await session.scalars(select(Site))).all()
        keys = (await session.scalars(select(ApiKey).where(ApiKey.revoked_at.is_(None)))).all()
        live = select(Experiment.id).where(Experiment.archived_at.is_(None))
        gates = (await session.scalars(select(FeatureGate).where(FeatureGate.experiment_id.in_(live)))).all()
        # membership changes are durable in postgres: a flushed redis must not bring a revoked token back
        changes = (await session.execute(select(MemberChange))).scalars().all()
        async with transaction(self.redis) as pipe:
            pipe.delete(self.keys.experiments, self.keys.sites, self.keys.api_keys, self.keys.gates)
            for experiment in experiments:
                pipe.hset(self.keys.experiments, mapping={str(experiment.id): encode(experiment_config(experiment))})
            for site in sites:
                pipe.hset(self.keys.sites, mapping={site.public_key: encode(site_config(site))})
            for key in keys:
                config = ApiKeyConfig(id=str(key.id), organization_id=str(key.organization_id))
                pipe.hset(self.keys.api_keys, mapping={key.key_hash: encode(config)})
            for gate in gates:
                pipe.hset(self.keys.gates, mapping={str(gate.experiment_id): encode(gate_config(gate))})
            if changes:
                # hset keeps a later change redis already has; a lost one comes back from postgres
                current: dict[bytes, bytes] = await reply(self.redis.hgetall(self.keys.member_changes))
                for change in changes:
                    field = f"{change.organization_id}:{change.user_id}"
                    known = current.get(field.encode())
                    if known is None or float(known) < change.changed_at:
                        pipe.hset(self.keys.member_changes, field, repr(change.changed_at))
            # a version never seen before, even by a process that watched redis before it lost everything
            pipe.set(self.keys.config_version, time.time_ns())
            await pipe.execute()
        await self._changed()

    async def member_changed(
        self,
        organization_id: UUID | str,
        user_id: UUID | str,
        token_ttl_seconds: int,
        session: AsyncSession | None = None,
    ) -> None:
        """a member's role changed or they left: access tokens issued before now stop working for them.

        with `session`, the change is also kept in postgres (in the caller's transaction), from where
        `everything` rebuilds it should redis lose it."""
        now = time.time()
        if session is not None:
            await session.execute(
                text(
                    "insert into member_changes (organization_id, user_id, changed_at) values (:o, :u, :t)"
                    " on conflict (organization_id, user_id) do update set changed_at = excluded.changed_at"
                ),
                {"o": UUID(str(organization_id)), "u": UUID(str(user_id)), "t": now},
            )
        changes = self.keys.member_changes
        # entries older than any live token are spent: prune them, so the hash stays small
        seen: dict[bytes, bytes] = await reply(self.redis.hgetall(changes))
        stale = [field for field, at in seen.items() if float(at) < now - token_ttl_seconds]
        async with transaction(self.redis) as pipe:
            if stale:
                # redis-py types hash fields as str; bytes are sent as they are
                pipe.hdel(changes, *stale)  # type: ignore[arg-type]
            pipe.hset(changes, f"{organization_id}:{user_id}", repr(now))
            pipe.incr(self.keys.config_version)
            await pipe.execute()
        await self._changed()

    async def _set(self, key: str, field: str, value: bytes) -> None:
        async with transaction(self.redis) as pipe:
            pipe.hset(key, mapping={field: value})
            pipe.incr(self.keys.config_version)
            await pipe.execute()
        await self._changed()

    async def _delete(self, key: str, field: str) -> None:
        async with transaction(self.redis) as pipe:
            pipe.hdel(key, field)
            pipe.incr(self.keys.config_version)
            await pipe.execute()
        await self._changed()
