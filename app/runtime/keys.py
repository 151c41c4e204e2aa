"""every redis key levers uses, under one prefix so test runs and tenants of a shared redis never collide."""

from __future__ import annotations

import zlib
from dataclasses import dataclass


@dataclass(frozen=True)
class RedisKeys:
    prefix: str
    shards: int

    def shard_of(self, experiment_id: str) -> int:
        # crc32 is stable across processes and restarts, unlike python's hash()
        return zlib.crc32(experiment_id.encode()) % self.shards

    def stream(self, shard: int) -> str:
        return f"{self.prefix}events:{shard}"

    def stream_for(self, experiment_id: str) -> str:
        return self.stream(self.shard_of(experiment_id))

    def params(self, experiment_id: str) -> str:
        return f"{self.prefix}params:{experiment_id}"

    def dedup(self, nonce: str) -> str:
        return f"{self.prefix}fb:{nonce}"

    def shard_lease(self, shard: int) -> str:
        return f"{self.prefix}lease:{shard}"

    @property
    def config_version(self) -> str:
        return f"{self.prefix}cfg:version"

    @property
    def experiments(self) -> str:
        return f"{self.prefix}cfg:experiments"

    @property
    def sites(self) -> str:
        return f"{self.prefix}cfg:sites"

    @property
    def member_changes(self) -> str:
        # not derived from postgres, so never rebuilt: outside the cfg: hashes that a republish replaces
        return f"{self.prefix}member-changes"

    @property
    def api_keys(self) -> str:
        return f"{self.prefix}cfg:apikeys"

    @property
    def gates(self) -> str:
        return f"{self.prefix}cfg:gates"

    @property
    def site_seen(self) -> str:
        return f"{self.prefix}site-seen"

    @property
    def api_key_uses(self) -> str:
        """api key id -> unix time of its last use."""
        return f"{self.prefix}api-key-used"

    @property
    def metrics_workers(self) -> str:
        """worker id -> its latest metrics snapshot, merged by the web's /metrics."""
        return f"{self.prefix}metrics:workers"

    @property
    def rebuild_lock(self) -> str:
        return f"{self.prefix}cfg:version:rebuild"

    def context(self, nonce: str) -> str:
        """a contextual exposure's context, by its selection's nonce, for its feedback to be trained with."""
        return f"{self.prefix}ctx:{nonce}"

    def throttle_window(self, action: str, address: str, window: int) -> str:
        return f"{self.prefix}throttle:{action}:ip:{address}:{window}"

    def throttle_failures(self, action: str, account_digest: str) -> str:
        return f"{self.prefix}throttle:{action}:fail:{account_digest}"

    def throttle_lock(self, action: str, account_digest: str) -> str:
        return f"{self.prefix}throttle:{action}:lock:{account_digest}"

    @property
    def arq_queue(self) -> str:
        return f"{self.prefix}arq:queue"

    @property
    def consumer_group(self) -> str:
        return "trainers"
