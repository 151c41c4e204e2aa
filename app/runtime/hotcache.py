"""the in-process copy of configuration and policy params that select and feedback read.

a background task refreshes it from redis every `refresh_seconds`; requests never wait on redis or postgres
to read it. when redis is down the last good copy keeps serving. when redis is up but lost the configuration
(its version key is gone: a restart without persistence, a flush), the last good copy keeps serving and one
process republishes everything from postgres (`republish`), which every process then reloads.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import zlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import msgspec
import numpy as np
import structlog
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError

from app.bandits import BanditState, Policy, get_policy
from app.runtime.keys import RedisKeys
from app.runtime.outage import Outage
from app.runtime.records import (
    ApiKeyConfig,
    ExperimentConfig,
    SiteConfig,
    api_key_decoder,
    experiment_decoder,
    gate_decoder,
    params_decoder,
    site_decoder,
)
from app.targeting import Gate, build_gate
from app.targeting.split import Split

log = structlog.get_logger(__name__)


@dataclass
class ExperimentRuntime:
    config: ExperimentConfig
    raw_config: bytes
    policy: Policy
    state: BanditState
    raw_params: bytes | None
    rng: np.random.Generator
    gate: Gate | None = None
    raw_gate: bytes | None = None
    split: Split | None = None


def initial_state(config: ExperimentConfig) -> tuple[Policy, BanditState]:
    policy = get_policy(config.protocol)
    state = policy.init_state(n_arms=len(config.arms), params=config.protocol_params, dim=config.context_dim)
    return policy, state


def fixed_split(config: ExperimentConfig) -> Split | None:
    """the fixed split's lookup table; none for a bandit, or a split that doesn't fit the arms."""
    if config.allocation != "fixed" or not config.split or not config.weights:
        return None
    if len(config.weights) != len(config.arms) or any(r[2] >= len(config.arms) for r in config.split):
        return None
    return Split(config.split)


def load_gate(config: ExperimentConfig, raw: bytes) -> Gate:
    try:
        gate = gate_decoder.decode(raw)
        return build_gate(msgspec.to_builtins(gate), config.id, len(config.arms), config.control_index)
    except Exception:
        # a gate that can't be read fails closed: everyone gets the control, nobody trains the bandit
        log.exception("gate config could not be loaded", experiment_id=config.id)
        return Gate(enabled=False, rollout_percent=0.0, salt="", default_arm=config.control_index)


class HotCache:
    def __init__(self, redis: Redis, keys: RedisKeys, refresh_seconds: float = 0.5) -> None:
        self.redis = redis
        self.keys = keys
        self.refresh_seconds = refresh_seconds
        self.version: bytes | None = None
        self.experiments: dict[str, ExperimentRuntime] = {}
        self.sites: dict[str, SiteConfig] = {}
        self.api_keys: dict[str, ApiKeyConfig] = {}
        # "org:user" -> when their membership last changed; older access tokens of theirs are refused
        self.member_changes: dict[str, float] = {}
        self.last_success = 0.0
        self._task: asyncio.Task[None] | None = None
        self._stopped = False
        self._lock = asyncio.Lock()
        self._last_forced = 0.0
        # rebuilds redis's copy of the configuration from postgres (set by the app)
        self.republish: Callable[[], Awaitable[None]] | None = None
        self.republished = 0

    def _client(self) -> Redis:
        """the redis client, refused once stopped: a refresh that `stop` left behind (stuck in postgres) must
        not open a new connection after shutdown closed the client; redis-py would, and it would leak."""
        if self._stopped:
            raise RedisConnectionError("the hot cache has stopped")
        return self.redis

    async def refresh(self) -> None:
        async with self._lock:
            version = await self._client().get(self.keys.config_version)
            if version is None and self.republish is not None:
                version = await self._republish()
            if version is None and self.version is not None:
                # redis lost the configuration and nobody has rebuilt it yet: keep serving what we have
                await self._reload_params()
                return
            if version != self.version or version is None:
                await self._reload_config()
                self.version = version
            await self._reload_params()
            self.last_success = time.monotonic()

    async def _republish(self) -> bytes | None:
        """one process at a time rebuilds the published configuration from postgres."""
        lock = self.keys.rebuild_lock
        republish = self.republish
        if republish is not None and not self._stopped and await self._client().set(lock, b"1", nx=True, ex=10):
            try:
                log.warning("redis lost the configuration, republishing from postgres")
                await republish()
                self.republished += 1
            except Exception:
                log.exception("republishing the configuration failed")
            finally:
                await self._client().delete(lock)
        version: bytes | None = await self._client().get(self.keys.config_version)
        return version

    async def refresh_on_miss(self) -> None:
        """one extra refresh when a request names something unknown; at most a few per second."""
        now = time.monotonic()
        if now - self._last_forced < 0.2:
            return
        self._last_forced = now
        with contextlib.suppress(RedisError, OSError):
            await self.refresh()

    async def _reload_config(self) -> None:
        async with self._client().pipeline(transaction=False) as pipe:
            pipe.hgetall(self.keys.experiments)
            pipe.hgetall(self.keys.sites)
            pipe.hgetall(self.keys.api_keys)
            pipe.hgetall(self.keys.gates)
            pipe.hgetall(self.keys.member_changes)
            raw_experiments, raw_sites, raw_keys, raw_gates, raw_member_changes = await pipe.execute()
        experiments: dict[str, ExperimentRuntime] = {}
        for field, raw in raw_experiments.items():
            experiment_id = field.decode()
            current = self.experiments.get(experiment_id)
            if current is not None and current.raw_config == raw:
                experiments[experiment_id] = current
                continue
            try:
                config = experiment_decoder.decode(raw)
                policy, state = initial_state(config)
            except Exception:  # a broken entry must not take the other experiments down
                log.exception("experiment config could not be loaded", experiment_id=experiment_id)
                continue
            seed = [config.seed, zlib.crc32(experiment_id.encode()), time.monotonic_ns() & 0xFFFFFFFF]
            experiments[experiment_id] = ExperimentRuntime(
                config=config,
                raw_config=raw,
                policy=policy,
                state=state,
                raw_params=None,
                rng=np.random.default_rng(seed),
                split=fixed_split(config),
            )
        for experiment_id, runtime in experiments.items():
            raw_gate = raw_gates.get(experiment_id.encode())
            if raw_gate is None:
                runtime.gate, runtime.raw_gate = None, None
            elif raw_gate != runtime.raw_gate:  # a new runtime (changed experiment) has no raw_gate yet
                runtime.gate, runtime.raw_gate = load_gate(runtime.config, raw_gate), raw_gate
        self.experiments = experiments
        self.sites = {field.decode(): site_decoder.decode(raw) for field, raw in raw_sites.items()}
        self.api_keys = {field.decode(): api_key_decoder.decode(raw) for field, raw in raw_keys.items()}
        self.member_changes = {field.decode(): float(at) for field, at in raw_member_changes.items()}

    async def _reload_params(self) -> None:
        runtimes = list(self.experiments.values())
        if not runtimes:
            return
        raws = await self._client().mget([self.keys.params(r.config.id) for r in runtimes])
        for runtime, raw in zip(runtimes, raws, strict=True):
            if raw is None or raw == runtime.raw_params:
                continue
            try:
                record = params_decoder.decode(raw)
                runtime.state = runtime.policy.state_from_json(record.state)
                runtime.raw_params = raw
            except Exception:
                log.exception("policy params could not be loaded", experiment_id=runtime.config.id)

    async def _run(self) -> None:
        # one line when redis goes and one when it is back, not one per refresh
        redis_outage = Outage("redis", "at each refresh; the hot cache serves its last good copy meanwhile")
        while not self._stopped:
            try:
                await self.refresh()
                redis_outage.up()
            except (RedisError, OSError) as exc:
                redis_outage.down(exc)
            except Exception:
                log.exception("hot cache refresh failed")
            await asyncio.sleep(self.refresh_seconds)

    def start(self) -> None:
        self._stopped = False
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="levers-hot-cache")

    async def stop(self, grace_seconds: float = 5.0) -> None:
        """ends the refresh loop. a refresh that does not end when cancelled (a database driver still closing
        the connection it was cancelled on) is left behind after `grace_seconds`: shutdown must not hang."""
        self._stopped = True
        if self._task is not None:
            task, self._task = self._task, None
            task.cancel()
            done, _ = await asyncio.wait({task}, timeout=grace_seconds)
            if not done:
                log.warning("the hot cache's refresh did not stop when asked; shutting down without it")
