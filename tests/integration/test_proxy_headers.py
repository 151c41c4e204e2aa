"""`levers serve` believes X-Forwarded-For only from FORWARDED_ALLOW_IPS: rotating it doesn't escape rate limits.

a real server process each: the public tag endpoints are limited per site key and client address, in memory
in each web process (see README, Security: each of WEB_CONCURRENCY processes enforces the whole limit).
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from app.settings import Settings
from tests.conftest import scoped
from tests.support.processes import free_port, process_env, start, stop, wait_http

LIMIT = 5


@contextmanager
def serve(settings: Settings, logs: Path, **env: str) -> Iterator[str]:
    port = free_port()
    process = start(
        ["serve", "--port", str(port)],
        process_env(scoped(settings, f"proxy{secrets.token_hex(2)}"), PORT=str(port), **env),
        logs / f"web-{port}.log",
    )
    try:
        wait_http(f"http://127.0.0.1:{port}/healthz", timeout=90)
        yield f"http://127.0.0.1:{port}"
    finally:
        stop(process)


def _rotating(url: str, n: int) -> list[int]:
    with httpx.Client(base_url=url, timeout=10) as http:
        return [
            http.post(
                "/p/site_nonexistent/d",
                content=b"{}",
                headers={"x-forwarded-for": f"198.51.100.{i}", "content-type": "text/plain"},
            ).status_code
            for i in range(n)
        ]


def test_rotating_forwarded_for_from_an_untrusted_peer_does_not_bypass_the_limit(
    settings: Settings, tmp_path: Path
) -> None:
    # this test's client (127.0.0.1) is not a trusted proxy here
    with serve(settings, tmp_path, PUBLIC_RATE_LIMIT_PER_MINUTE=str(LIMIT), FORWARDED_ALLOW_IPS="10.9.8.7") as url:
        codes = _rotating(url, 3 * LIMIT)
    assert 429 not in codes[:LIMIT], codes
    assert codes[LIMIT:] == [429] * (2 * LIMIT), codes


def test_a_trusted_proxy_passes_the_client_address_on(settings: Settings, tmp_path: Path) -> None:
    # the default trusts loopback (a proxy on the same host): each forwarded address has its own budget
    with serve(settings, tmp_path, PUBLIC_RATE_LIMIT_PER_MINUTE=str(LIMIT)) as url:
        codes = _rotating(url, 3 * LIMIT)
    assert 429 not in codes, codes
