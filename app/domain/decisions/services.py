"""the hot path: choose an arm and record feedback, from memory and redis only (never postgres)."""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from redis.exceptions import RedisError

from app.bandits import PolicyError
from app.domain.guardrails.allocation import open_arm
from app.lib.errors import InvalidInputError, NotFoundError, UnavailableError
from app.lib.metrics import FEEDBACKS, SELECTIONS
from app.lib.tokens import SelectionClaims, SelectionTokens, TokenError
from app.runtime.events import EventWriter, dedup_ttl
from app.runtime.hotcache import ExperimentRuntime, HotCache
from app.runtime.records import ArmConfig, Event
from app.runtime.rewards import check_reward
from app.targeting import bucket as salted_bucket
from app.targeting.segments import compact, segment_of
from app.targeting.split import SPACE
from app.targeting.split import position as split_position

# the counters' children bound once, not per request (a labels() lookup costs more than the increment)
_SELECTED: dict[str, Any] = {}
_ACCEPTED = FEEDBACKS.labels(result="accepted")
_DUPLICATE = FEEDBACKS.labels(result="duplicate")
# reasons whose traffic is served outside the bandit: recorded as holdout, never trained on
FIXED_REASONS = ("rule:", "rollout", "default", "forced")


@dataclass(frozen=True)
class Decision:
    arm: ArmConfig
    token: str
    claims: SelectionClaims
    reason: str
    recorded: bool


def bucket(experiment_id: str, seed: int, visitor: str) -> float:
    """a stable position in [0, 100) for (experiment, visitor) in the experiment's traffic split.

    salted by experiment and seed, and apart from the gate's rollout salt, so the two splits are independent.
    """
    return salted_bucket(f"traffic:{experiment_id}:{seed}", visitor)


def fixed_choice(runtime: ExperimentRuntime, visitor: str) -> tuple[int, float, str]:
    """a fixed split's arm: deterministic per visitor id; its propensity is the arm's weight.

    the reason stays "policy" (the experiment's own allocation), so it is counted and tagged exactly as a
    bandit's choice would be.
    """
    config = runtime.config
    place = split_position(config.id, visitor) if visitor else int(runtime.rng.integers(SPACE))
    if runtime.split is None or config.weights is None:
        # a split that no longer fits the pool's arms: equal shares until someone sets the weights again
        n_arms = len(config.arms)
        return place * n_arms // SPACE, 1.0 / n_arms, "policy"
    arm = runtime.split.arm_at(place)
    return arm, config.weights[arm], "policy"


def is_holdout(reason: str) -> bool:
    return reason.startswith(FIXED_REASONS)


class DecisionService:
    def __init__(self, cache: HotCache, writer: EventWriter, tokens: SelectionTokens) -> None:
        self.cache = cache
        self.writer = writer
        self.tokens = tokens

    async def runtime(self, organization_id: str, experiment_id: str) -> ExperimentRuntime:
        runtime = self.cache.experiments.get(experiment_id)
        if runtime is None:
            await self.cache.refresh_on_miss()
            runtime = self.cache.experiments.get(experiment_id)
        if runtime is None or runtime.config.organization_id != organization_id:
            raise NotFoundError("no such experiment", field="experiment_id")
        return runtime

    def choose(
        self,
        runtime: ExperimentRuntime,
        visitor: str,
        vector: list[float] | None,
        attributes: Mapping[str, Any] | None = None,
        force_arm: int | None = None,
    ) -> tuple[int, float, str]:
        """the arm, its propensity and why: policy, rule:<id>, rollout, default, forced (or winner, paused)."""
        config = runtime.config
        if config.status == "draft":
            raise InvalidInputError("the experiment is a draft: start it first", field="experiment_id")
        if config.status == "completed":
            return (config.winner_index if config.winner_index is not None else config.control_index), 1.0, "winner"
        if config.status == "paused":
            return config.control_index, 1.0, "paused"
        if force_arm is not None:
            if not 0 <= force_arm < len(config.arms):
                raise InvalidInputError(f"force_arm must be between 0 and {len(config.arms) - 1}", field="force_arm")
            return force_arm, 1.0, "forced"
        gate = runtime.gate
        default_arm = config.control_index
        if gate is not None:
            outcome = gate.evaluate(visitor, attributes or {}, time.time(), runtime.rng.random() * 100)
            if outcome.arm is not None:
                return outcome.arm, 1.0, outcome.reason
            default_arm = gate.default_arm
        if config.traffic_percent < 100.0:
            position = bucket(config.id, config.seed, visitor) if visitor else runtime.rng.random() * 100
            if position >= config.traffic_percent:
                return default_arm, 1.0, "rollout"
        if config.allocation == "fixed":
            return fixed_choice(runtime, visitor)
        context = None
        if config.context_dim is not None:
            if vector is None:
                raise InvalidInputError(
                    f"this experiment needs context.vector of length {config.context_dim}", field="context.vector"
                )
            # checked on the decoded floats, before numpy: its reductions cost more than the check on 16 numbers
            if len(vector) != config.context_dim or not all(map(math.isfinite, vector)):
                raise InvalidInputError(
                    f"context.vector must hold {config.context_dim} finite numbers", field="context.vector"
                )
            context = np.array(vector, dtype=np.float64)
        try:
            floor = config.exploration_floor
            if config.paused_arms:
                # a guardrail or an automatic decision took arms out: the policy's allocation over the rest
                arm, propensity = open_arm(
                    runtime.policy, runtime.state, runtime.rng, config.paused_arms, context, floor=floor
                )
                return arm, propensity, "policy"
            selection = runtime.policy.select(runtime.state, runtime.rng, context=context, floor=floor)
        except PolicyError as exc:
            raise InvalidInputError(str(exc), field=f"context.{exc.field}") from exc
        return int(selection.arm), float(selection.propensity), "policy"

    async def select(
        self,
        organization_id: str,
        experiment_id: str,
        visitor: str,
        vector: list[float] | None,
        request_id: str,
        *,
        record: bool = True,
        attributes: Mapping[str, Any] | None = None,
        force_arm: int | None = None,
        segment: tuple[str, ...] | None = None,
    ) -> Decision:
        """`attributes` are what targeting rules look at (url, path, referrer, utm_*, device, language,
        country, custom ones flat by name); `force_arm` serves that arm, labelled "forced"; `segment` is
        visitor_segment(attributes) when the caller decides several experiments for one visitor."""
        runtime = await self.runtime(organization_id, experiment_id)
        arm_index, propensity, reason = self.choose(runtime, visitor, vector, attributes, force_arm)
        config = runtime.config
        holdout = is_holdout(reason)
        # only the bandit's (or fixed split's) own traffic is broken down by segment; in memory, no i/o
        if reason != "policy":
            segment = ()
        elif segment is None:
            segment = self.visitor_segment(attributes)
        token, claims = self.tokens.issue(
            tenant=config.organization_id,
            experiment=config.id,
            arm=arm_index,
            visitor=visitor,
            propensity=propensity,
            ttl_seconds=config.attribution_window_seconds,
            label=reason if holdout else "",
            segment=segment,
        )
        recorded = False
        # policy-served traffic trains the bandit and counts in its results; gate-served traffic is recorded
        # apart as holdout (labelled with its reason); paused and completed experiments record nothing
        if record and (reason == "policy" or holdout):
            await self.record_exposure(
                runtime,
                arm_index,
                propensity,
                vector if not holdout else None,
                claims.n,
                request_id,
                claims.g,
                issued=float(claims.ts),
                segment=segment,
            )
            recorded = True
        counter = _SELECTED.get(reason)
        if counter is None:
            counter = _SELECTED[reason] = SELECTIONS.labels(reason=reason)
        counter.inc()
        return Decision(arm=config.arms[arm_index], token=token, claims=claims, reason=reason, recorded=recorded)

    @staticmethod
    def visitor_segment(attributes: Mapping[str, Any] | None) -> tuple[str, ...]:
        """the segment a visitor's exposures and conversions count in (app.targeting.segments)."""
        return tuple(compact(segment_of(attributes, time.time()))) if attributes else ()

    def exposure_event(self, runtime: ExperimentRuntime, claims: SelectionClaims, request_id: str) -> Event:
        """the exposure a selection token stands for (the tag reports them after applying an arm)."""
        conversion = runtime.config.reward_mode == "conversion"
        return Event(
            kind="hx" if claims.g else "x",
            experiment=claims.e,
            arm=claims.a,
            reward=0.0,
            trials=1 if conversion else 0,
            ts=time.time(),
            propensity=claims.p,
            nonce=claims.n,
            request_id=request_id,
            label=claims.g,
            issued=float(claims.ts),
            segment=claims.s,
        )

    async def record_exposure(
        self,
        runtime: ExperimentRuntime,
        arm: int,
        propensity: float,
        vector: list[float] | None,
        nonce: str,
        request_id: str,
        label: str = "",
        issued: float = 0.0,
        segment: tuple[str, ...] = (),
    ) -> None:
        conversion = runtime.config.reward_mode == "conversion"
        event = Event(
            kind="hx" if label else "x",
            experiment=runtime.config.id,
            arm=arm,
            reward=0.0,
            trials=1 if conversion else 0,
            ts=time.time(),
            propensity=propensity,
            context=vector,
            nonce=nonce,
            request_id=request_id,
            label=label,
            issued=issued,
            segment=segment,
        )
        try:
            await self.writer.exposure(event)
        except (RedisError, OSError) as exc:
            raise UnavailableError("the event store is unavailable; retry shortly") from exc

    def verify(self, organization_id: str, token: str) -> SelectionClaims:
        try:
            claims = self.tokens.verify(token)
        except TokenError as exc:
            raise InvalidInputError(str(exc), field="selection_token") from exc
        if claims.t != organization_id:
            raise InvalidInputError("selection_token belongs to another organization", field="selection_token")
        return claims

    async def feedback(self, organization_id: str, token: str, reward: float, request_id: str) -> bool:
        """records the reward once per token; returns False when the token was already rewarded."""
        claims = self.verify(organization_id, token)
        if not math.isfinite(reward):
            raise InvalidInputError("reward must be a finite number", field="reward")
        runtime = await self.runtime(organization_id, claims.e)
        conversion = runtime.config.reward_mode == "conversion"
        if conversion and not 0.0 <= reward <= 1.0:
            raise InvalidInputError("a conversion's reward must be between 0 and 1", field="reward")
        if runtime.config.status in {"completed", "draft"}:
            raise InvalidInputError(
                f"the experiment is {runtime.config.status}; feedback is closed", field="selection_token"
            )
        check_reward(runtime, reward, "reward")
        event = Event(
            kind="hf" if claims.g else "f",
            experiment=claims.e,
            arm=claims.a,
            reward=float(reward),
            trials=0 if conversion else 1,
            ts=time.time(),
            propensity=claims.p,
            nonce=claims.n,
            request_id=request_id,
            label=claims.g,
            issued=float(claims.ts),
            segment=claims.s,
        )
        ttl = dedup_ttl(claims.x)
        try:
            new = await self.writer.once(event, claims.n, ttl)
        except (RedisError, OSError) as exc:
            raise UnavailableError("the event store is unavailable; retry shortly") from exc
        (_ACCEPTED if new else _DUPLICATE).inc()
        return new

    async def guardrail_feedback(
        self, organization_id: str, token: str, goal: str, value: float, request_id: str
    ) -> bool:
        """records a conversion (or value) on one of the experiment's guardrail goals, once per token and goal;
        it never trains the bandit. traffic served outside the bandit is not compared, so it is not recorded."""
        claims = self.verify(organization_id, token)
        if not math.isfinite(value):
            raise InvalidInputError("reward must be a finite number", field="reward")
        runtime = await self.runtime(organization_id, claims.e)
        if goal not in runtime.config.guardrails:
            raise InvalidInputError(f"{goal!r} is not a guardrail goal of this experiment", field="goal")
        if runtime.config.status in {"completed", "draft"}:
            raise InvalidInputError(
                f"the experiment is {runtime.config.status}; feedback is closed", field="selection_token"
            )
        if claims.g:
            return True
        event = Event(
            kind="g",
            experiment=claims.e,
            arm=claims.a,
            reward=float(value),
            trials=0,
            ts=time.time(),
            propensity=claims.p,
            nonce=claims.n,
            request_id=request_id,
            label=goal,
            issued=float(claims.ts),
        )
        ttl = dedup_ttl(claims.x)
        try:
            return await self.writer.once(event, f"{goal}:{claims.n}", ttl)
        except (RedisError, OSError) as exc:
            raise UnavailableError("the event store is unavailable; retry shortly") from exc
