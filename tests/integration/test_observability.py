"""request ids from the api to the worker's json logs, worker metrics on the web's /metrics, graceful stops."""

from __future__ import annotations

import json
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis as sync_redis
from litestar import Litestar
from litestar.testing import AsyncTestClient

from app.settings import Settings
from tests.conftest import scoped
from tests.integration.conftest import Tenant
from tests.support.processes import ROOT, free_port, process_env, start, stop, wait_http


async def test_request_id_is_honoured_or_generated_and_echoed(
    tenant: Tenant, client: AsyncTestClient[Litestar]
) -> None:
    experiment = await tenant.experiment()
    body = {"experiment_id": experiment["id"], "context": {"id": "v"}}
    given = await client.post("/api/v1/select", json=body, headers={**tenant.headers, "X-Request-ID": "req-123.abc"})
    assert given.status_code == 200
    assert given.headers["x-request-id"] == "req-123.abc" == given.json()["request_id"]

    generated = await client.post("/api/v1/select", json=body, headers=tenant.headers)
    assert len(generated.headers["x-request-id"]) == 32
    assert generated.headers["x-request-id"] == generated.json()["request_id"]

    # an id that could forge log lines or headers is replaced, not passed on
    odd = await client.post("/api/v1/select", json=body, headers={**tenant.headers, "X-Request-ID": 'a b"{}' * 20})
    assert odd.headers["x-request-id"] == odd.json()["request_id"]
    assert odd.headers["x-request-id"].isalnum()

    # errors carry it too
    bad = await client.post("/api/v1/select", json={"nope": 1}, headers={**tenant.headers, "X-Request-ID": "bad-1"})
    assert bad.status_code == 400 and bad.headers["x-request-id"] == "bad-1"
    assert (await client.get("/healthz", headers={"X-Request-ID": "probe-1"})).headers["x-request-id"] == "probe-1"
    # and so do answers no route handled
    assert (await client.get("/no-such-page", headers={"X-Request-ID": "lost-1"})).headers["x-request-id"] == "lost-1"
    assert len((await client.post("/healthz")).headers["x-request-id"]) == 32


async def test_readyz_checks_postgres_redis_and_migrations(client: AsyncTestClient[Litestar]) -> None:
    response = await client.get("/readyz")
    assert response.status_code == 200, response.text
    assert response.json() == {"status": "ready", "checks": {"postgres": "ok", "migrations": "ok", "redis": "ok"}}
    assert (await client.get("/healthz")).json() == {"status": "ok"}


def _json_lines(path: Path) -> list[dict[str, Any]]:
    lines = []
    for line in path.read_text(errors="replace").splitlines():
        if line.startswith("{"):
            try:
                lines.append(json.loads(line))
            except ValueError:
                continue
    return lines


def _eventually(check: Callable[[], Any], timeout: float = 20.0, what: str = "") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or check}")
        time.sleep(0.1)


class Running:
    def __init__(self, url: str, settings: Settings, logs: Path, web: Any, worker: Any) -> None:
        self.url, self.settings, self.logs, self.web, self.worker = url, settings, logs, web, worker


@pytest.fixture
def running(settings: Settings, tmp_path: Path) -> Iterator[Running]:
    obs = scoped(settings, f"obs{secrets.token_hex(2)}")
    port = free_port()
    # debug: the hot path's request lines and the worker's per-event lines
    env = process_env(obs, PORT=str(port), LOG_JSON="1", LOG_LEVEL="DEBUG")
    web = start(["serve", "--port", str(port)], env, tmp_path / "web.log")
    worker = start(["worker"], env, tmp_path / "worker.log")
    try:
        wait_http(f"http://127.0.0.1:{port}/healthz", timeout=90)  # a busy machine starts slowly
        yield Running(f"http://127.0.0.1:{port}", obs, tmp_path, web, worker)
    finally:
        stop(web)
        stop(worker)


@pytest.mark.slow
def test_request_ids_reach_the_worker_logs_and_worker_metrics_reach_the_web(running: Running) -> None:
    with httpx.Client(base_url=running.url, timeout=10) as http:
        credentials = {"email": f"obs-{secrets.token_hex(4)}@example.com", "password": "correct horse battery"}
        assert http.post("/auth/register", json=credentials).status_code == 201
        token = http.post("/auth/login", json=credentials).json()["access_token"]
        auth = {"Authorization": f"Bearer {token}"}
        pool = http.post("/api/v1/pools", json={"name": "p", "arms": [{"name": "a"}, {"name": "b"}]}, headers=auth)
        body = {"name": "obs", "pool_id": pool.json()["id"], "protocol": "beta_ts"}
        experiment = http.post("/api/v1/experiments", json=body, headers=auth).json()
        select_id, feedback_id = f"sel-{secrets.token_hex(6)}", f"fb-{secrets.token_hex(6)}"
        selected = http.post(
            "/api/v1/select",
            json={"experiment_id": experiment["id"], "context": {"id": "v1"}},
            headers={**auth, "X-Request-ID": select_id},
        )
        assert selected.headers["x-request-id"] == select_id
        feedback = http.post(
            "/api/v1/feedback",
            json={"selection_token": selected.json()["selection_token"], "reward": 1},
            headers={**auth, "X-Request-ID": feedback_id},
        )
        assert feedback.status_code == 202 and feedback.headers["x-request-id"] == feedback_id

        def processed() -> dict[str, dict[str, Any]]:
            found = {
                line["request_id"]: line
                for line in _json_lines(running.logs / "worker.log")
                if line.get("event") == "event processed"
            }
            return found if {select_id, feedback_id} <= found.keys() else {}

        lines = _eventually(processed, what="the worker's log lines for both requests")
        assert lines[select_id]["kind"] == "x" and lines[feedback_id]["kind"] == "f"
        assert lines[feedback_id]["experiment_id"] == experiment["id"]
        assert lines[feedback_id]["level"] == "debug" and "timestamp" in lines[feedback_id]

        web_lines = _json_lines(running.logs / "web.log")
        access = [line for line in web_lines if line.get("request_id") == select_id and line["event"] == "request"]
        assert access and access[0]["route"] == "/api/v1/select" and access[0]["status"] == 200
        assert access[0]["level"] == "debug"  # the hot path's successes
        created = [line for line in web_lines if line.get("event") == "request" and line["path"] == "/api/v1/pools"]
        assert created and created[0]["level"] == "info" and created[0]["status"] == 201

        def worker_series() -> str:
            text = http.get("/metrics").text
            trained = [
                line
                for line in text.splitlines()
                if line.startswith("levers_trained_events_total{") and 'worker="' in line
            ]
            params = f'levers_params_age_seconds{{experiment="{experiment["id"]}"}}' in text
            return text if params and trained and any(not line.endswith(" 0.0") for line in trained) else ""

        text = _eventually(worker_series, what="the worker's metrics and the params age on the web's /metrics")
        assert "levers_training_batch_duration_seconds_bucket{" in text

    # a stopped worker gives its shards and its metrics back at once
    running.worker.send_signal(signal.SIGTERM)
    assert running.worker.wait(timeout=25) == 0
    client = sync_redis.Redis.from_url(running.settings.redis_url)
    try:
        prefix = running.settings.redis_prefix
        assert not client.exists(*[f"{prefix}lease:{shard}" for shard in range(running.settings.stream_shards)])
        assert client.hlen(f"{prefix}metrics:workers") == 0
    finally:
        client.close()
    running.web.send_signal(signal.SIGTERM)
    # uvicorn re-raises the signal once it has drained its requests and run the app's shutdown
    assert running.web.wait(timeout=25) in {0, -signal.SIGTERM}
    events = [line.get("event", "") for line in _json_lines(running.logs / "web.log")]
    assert "Application shutdown complete." in events


def _levers(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app", *args], env=env, cwd=ROOT, capture_output=True, text=True, timeout=60
    )


@pytest.mark.parametrize(
    ("command", "secret"), [(["serve"], ""), (["worker"], "change-me"), (["db", "upgrade"], "x" * 31)]
)
def test_production_refuses_a_missing_or_weak_secret(settings: Settings, command: list[str], secret: str) -> None:
    env = process_env(settings, LEVERS_ENV="production", SECRET_KEY=secret)
    result = _levers(command, env)
    assert result.returncode != 0
    assert "SECRET_KEY must be set to a random value of at least 32 characters in production" in result.stderr


def test_production_takes_its_secret_from_a_file(settings: Settings, tmp_path: Path) -> None:
    secret_file = tmp_path / "secret_key"
    secret_file.write_text(secrets.token_urlsafe(48) + "\n")
    env = process_env(settings, LEVERS_ENV="production", SECRET_KEY="", SECRET_KEY_FILE=str(secret_file))
    result = _levers(["db", "upgrade"], env)
    assert result.returncode == 0, result.stderr
    assert "database upgraded to head" in result.stdout

    env["SECRET_KEY_FILE"] = str(tmp_path / "missing")
    result = _levers(["db", "upgrade"], env)
    assert result.returncode != 0 and "SECRET_KEY_FILE" in result.stderr


@pytest.mark.slow
def test_metrics_add_up_across_web_processes(settings: Settings, tmp_path: Path) -> None:
    env = process_env(scoped(settings, f"mp{secrets.token_hex(2)}"), TMPDIR=str(tmp_path))
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    port = free_port()
    web = start(["serve", "--port", str(port), "--workers", "2"], env, tmp_path / "web.log")
    try:
        url = f"http://127.0.0.1:{port}"
        wait_http(f"{url}/healthz", timeout=90)
        # `levers serve --workers 2` made itself a multiprocess directory (under TMPDIR)
        (shared,) = tmp_path.glob("levers-metrics-*")

        def serving_pids() -> set[str]:
            return {p.stem.rsplit("_", 1)[1] for p in shared.glob("histogram_*.db")}

        sent = 0
        while len(serving_pids()) < 2 and sent < 400:  # fresh connections, until both processes served some
            assert httpx.get(f"{url}/login", timeout=10).status_code == 200
            sent += 1
        assert len(serving_pids()) == 2, "the kernel gave every connection to one process"
        totals = set()
        for _ in range(8):  # whichever process answers, it reports the requests of both
            text = httpx.get(f"{url}/metrics", timeout=10).text
            totals.add(
                sum(
                    float(line.rsplit(" ", 1)[1])
                    for line in text.splitlines()
                    if line.startswith("levers_http_request_duration_seconds_count{") and 'route="/login"' in line
                )
            )
        assert totals == {float(sent)}
    finally:
        stop(web)
