"""real levers processes (web, worker) started for a test, and a free port to put them on."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from app.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def process_env(settings: Settings, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "LEVERS_ENV": "test",
        "DATABASE_URL": settings.database_url,
        "REDIS_URL": settings.redis_url,
        "REDIS_PREFIX": settings.redis_prefix,
        "STREAM_SHARDS": str(settings.stream_shards),
        "SECRET_KEY": settings.secret_key,
        "LEVERS_DATA_DIR": str(settings.data_dir),
        "CACHE_REFRESH_SECONDS": "0.2",
        "LOG_LEVEL": "WARNING",
        "AUTH_RATE_LIMIT_PER_MINUTE": "100000",
        **extra,
    }


def start(args: list[str], env: dict[str, str], log_path: Path) -> subprocess.Popen[bytes]:
    # the child gets its own copy of the descriptor; ours is closed at once so no handle outlives the test
    with log_path.open("ab") as log:
        # a session of its own, so stop() can reach every process it spawns (uvicorn workers, dev's children)
        return subprocess.Popen(
            [sys.executable, "-m", "app", *args], env=env, cwd=ROOT, stdout=log, stderr=log, start_new_session=True
        )


def wait_http(url: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"{url} did not answer in {timeout}s")


def stop(process: subprocess.Popen[bytes], timeout: float = 15.0) -> None:
    """sigterm, then sigkill after timeout; then whatever the process spawned and left behind is killed too, so an
    orphaned uvicorn worker never outlives its test."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
