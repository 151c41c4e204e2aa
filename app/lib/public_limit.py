"""the public rate limit of the tag's endpoints: a sliding one-minute window per site and client address.

O(1) per request: two counters per (site, address), this minute's and the last one's, the last weighted by how
much of it still lies inside the sliding minute (the usual sliding-window-counter estimate). litestar's
RateLimitMiddleware, which it replaces there, decoded and re-encoded each client's whole request history on
every request (~17% of a tag decision's cpu, issue 12).

the counters live in the web process: each process counts its own requests. with WEB_CONCURRENCY=N a client
whose connections land on different processes can reach up to N times PUBLIC_RATE_LIMIT_PER_MINUTE; one
keep-alive connection (a browser's) stays on one process and gets the limit. the limit is a guard against
floods, not a quota, and a redis round trip on every decision would cost more than the guard is worth.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

WINDOW_SECONDS = 60


class WindowLimiter:
    def __init__(self, per_minute: int, clock: Callable[[], float] = time.time) -> None:
        self.limit = per_minute
        self.clock = clock
        self.window = -1
        self.current: dict[str, int] = {}
        self.previous: dict[str, int] = {}
        self.policy = f"{per_minute}; w={WINDOW_SECONDS}".encode()
        self.limit_header = str(per_minute).encode()

    def hit(self, key: str) -> tuple[bool, list[tuple[bytes, bytes]]]:
        """counts one request of `key` unless its share is spent; returns whether it may pass, and the
        RateLimit-* headers (and Retry-After when it may not) for the answer."""
        now = self.clock()
        window = int(now // WINDOW_SECONDS)
        if window != self.window:
            # the minute turned: this minute's counts become the last's; older ones are dropped whole
            self.previous = self.current if window == self.window + 1 else {}
            self.current = {}
            self.window = window
        elapsed = now - window * WINDOW_SECONDS
        count = self.current.get(key, 0)
        used = self.previous.get(key, 0) * (1.0 - elapsed / WINDOW_SECONDS) + count
        reset = max(1, math.ceil(WINDOW_SECONDS - elapsed))
        allowed = used < self.limit
        if allowed:
            count += 1
            self.current[key] = count
            used += 1
        headers = [
            (b"ratelimit-policy", self.policy),
            (b"ratelimit-limit", self.limit_header),
            (b"ratelimit-remaining", str(max(0, self.limit - math.ceil(used))).encode()),
            (b"ratelimit-reset", str(reset).encode()),
        ]
        if not allowed:
            headers.append((b"retry-after", str(reset).encode()))
        return allowed, headers
