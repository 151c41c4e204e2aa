"""every redis key levers uses, under one prefix so test runs and tenants of a shared redis never collide.

keys carry redis cluster hash tags (the part in braces decides the slot), so that every operation touching
several keys stays in one slot: a shard's stream, the de-duplication marks and contexts of the experiments
appended to it share the tag `{s<shard>}` (the dedup-and-append scripts); the published configuration, its
version and the policy params share `{cfg}` (the publisher's pipelines, the hot cache's reads). the prefix
comes first and holds no braces, so a key still starts with it (ACLs, scans) and the tag is the first `{...}`.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field

CONFIG_TAG = "{cfg}"


@dataclass(frozen=True)
class RedisKeys:
    prefix: str
    shards: int
    # experiment id -> its shard's hash tag: every exposure and feedback asks for its stream and dedup keys,
    # and the crc32 and formatting behind the tag were the most of their cost
    _tags: dict[str, str] = field(default_factory=dict, init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        if "{" in self.prefix or "}" in self.prefix:
            # a brace in the prefix would become the hash tag of every key and put them all in one slot
            raise ValueError("REDIS_PREFIX must not contain { or }")

    def shard_of(self, experiment_id: str) -> int:
        # crc32 is stable across processes and restarts, unlike python's hash()
        return zlib.crc32(experiment_id.encode()) % self.shards

    def _shard_tag(self, shard: int) -> str:
        return f"{{s{shard}}}"

    def stream(self, shard: int) -> str:
        return f"{self.prefix}{self._shard_tag(shard)}:events"

    def _tag_for(self, experiment_id: str) -> str:
        tag = self._tags.get(experiment_id)
        if tag is None:
            if len(self._tags) >= 65_536:  # ids of deleted experiments must not pile up for ever
                self._tags.clear()
            tag = self._tags[experiment_id] = self._shard_tag(self.shard_of(experiment_id))
        return tag

    def stream_for(self, experiment_id: str) -> str:
        return f"{self.prefix}{self._tag_for(experiment_id)}:events"

    def dedup(self, experiment_id: str, mark: str) -> str:
        """a selection's "seen" mark (kind and nonce, or an eid), in the slot of its experiment's stream."""
        return f"{self.prefix}{self._tag_for(experiment_id)}:fb:{mark}"

    def contexts(self, experiment_id: str, hour: int) -> str:
        """a hash of the contexts of an experiment's contextual exposures issued in one hour (since the epoch), by
        their selections' nonces, for their feedbacks to be trained with."""
        return f"{self.prefix}{self._tag_for(experiment_id)}:ctxh:{experiment_id}:{hour}"

    def context(self, experiment_id: str, nonce: str) -> str:
        """one exposure's context, as releases before the hourly hashes (contexts) kept it; read only."""
        return f"{self.prefix}{self._tag_for(experiment_id)}:ctx:{nonce}"

    def params(self, experiment_id: str) -> str:
        return f"{self.prefix}{CONFIG_TAG}:params:{experiment_id}"

    def shard_lease(self, shard: int) -> str:
        return f"{self.prefix}{self._shard_tag(shard)}:lease"

    @property
    def config_version(self) -> str:
        return f"{self.prefix}{CONFIG_TAG}:version"

    @property
    def rebuild_lock(self) -> str:
        return f"{self.prefix}{CONFIG_TAG}:version:rebuild"

    @property
    def experiments(self) -> str:
        return f"{self.prefix}{CONFIG_TAG}:experiments"

    @property
    def sites(self) -> str:
        return f"{self.prefix}{CONFIG_TAG}:sites"

    @property
    def member_changes(self) -> str:
        # not derived from postgres, so never rebuilt: not one of the hashes that a republish replaces
        return f"{self.prefix}{CONFIG_TAG}:member-changes"

    @property
    def api_keys(self) -> str:
        return f"{self.prefix}{CONFIG_TAG}:apikeys"

    @property
    def gates(self) -> str:
        return f"{self.prefix}{CONFIG_TAG}:gates"

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

    def throttle_window(self, action: str, address: str, window: int) -> str:
        return f"{self.prefix}throttle:{action}:ip:{address}:{window}"

    def throttle_failures(self, action: str, account_digest: str) -> str:
        # failures and lock of one account share a slot: they are cleared together
        return f"{self.prefix}throttle:{action}:{{{account_digest}}}:fail"

    def throttle_once(self, action: str, account_digest: str) -> str:
        return f"{self.prefix}throttle:{action}:{{{account_digest}}}:once"

    def throttle_lock(self, action: str, account_digest: str) -> str:
        return f"{self.prefix}throttle:{action}:{{{account_digest}}}:lock"

    def editing(self, kind: str, name: str) -> str:
        """a visual-editor or install-check token, session or report (app.runtime.editing)."""
        return f"{self.prefix}edit:{kind}:{name}"

    def refused_origins(self, site_key: str) -> str:
        return f"{self.prefix}refused:{site_key}"

    @staticmethod
    def dev_mailbox(prefix: str) -> str:
        """development mail shown on /dev/mailbox (app.lib.mail); needs only the prefix."""
        return f"{prefix}dev:mailbox"

    def schedule(self, job: str, at: int) -> str:
        """one worker claims a scheduled job's run (the cluster schedule, app.worker.schedule)."""
        return f"{self.prefix}schedule:{job}:{at}"

    @property
    def arq_queue(self) -> str:
        return f"{self.prefix}arq:queue"

    @property
    def consumer_group(self) -> str:
        return "trainers"
