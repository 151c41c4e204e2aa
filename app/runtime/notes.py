"""best-effort "last seen" notes (where a site's tag last ran, when an api key was last used): the hot path
writes each at most once a while per key and process, since a note a few seconds old says the same."""

from __future__ import annotations

import time

# keys remembered before the memory starts afresh (one float each): ids of deleted sites and keys must not
# pile up for ever
MAX_KEYS = 65_536


class OncePer:
    """lets each key through at most once every `every_seconds` (monotonic clock)."""

    def __init__(self, every_seconds: float, max_keys: int = MAX_KEYS) -> None:
        self.every_seconds = every_seconds
        self.max_keys = max_keys
        self._last: dict[str, float] = {}

    def due(self, key: str) -> bool:
        now = time.monotonic()
        last = self._last.get(key)
        if last is not None and now - last < self.every_seconds:
            return False
        if len(self._last) >= self.max_keys:
            self._last.clear()
        self._last[key] = now
        return True
