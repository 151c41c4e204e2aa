"""cpu per request of the lean routes in-process, without the http server: ``python bench/lean_routes.py``.

the app (create_served_app, on a fresh database and redis prefix like bench/hot_path.py) is called as an asgi
app with a ready-made scope, body and send, so the figure is levers' own work per request: routing, auth,
decoding, the decision, the token, the redis write (group commit: requests of one loop turn share a flush)
and the answer. on a shared box this is steadier than req/s under wrk, and it tells what a change to the hot
path saves. prints µs of cpu per request (process time), median of --runs.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import os
import pstats
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import bench.hot_path as hot  # noqa: E402
from tests.support.processes import free_port, start, stop, wait_http  # noqa: E402

CONCURRENCY = 16  # requests in flight per loop turn, as a handful of keep-alive connections would give


async def _load(app: Any, path: str, headers: list[tuple[bytes, bytes]], bodies: list[bytes], count: int) -> float:
    """cpu µs per request for ``count`` requests, CONCURRENCY at a time."""
    statuses: dict[int, int] = {}

    async def one(body: bytes) -> None:
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "POST" if body else "GET",
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": b"",
            "root_path": "",
            "headers": [*headers, (b"content-length", str(len(body)).encode())],
            "client": ("127.0.0.1", 50000),
            "server": ("127.0.0.1", 8000),
            "state": {},
        }
        sent = False

        async def receive() -> dict[str, Any]:
            nonlocal sent
            if sent:
                await asyncio.sleep(3600)
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                statuses[message["status"]] = statuses.get(message["status"], 0) + 1

        await app(scope, receive, send)

    started = time.process_time()
    for at in range(0, count, CONCURRENCY):
        await asyncio.gather(*(one(bodies[(at + i) % len(bodies)]) for i in range(min(CONCURRENCY, count - at))))
    used = time.process_time() - started
    bad = {s: n for s, n in statuses.items() if s >= 300}
    if bad:
        raise RuntimeError(f"{path}: answers {bad}")
    return used * 1e6 / count


async def measure(env: dict[str, str], ctx: dict[str, Any], args: argparse.Namespace) -> None:
    os.environ.update(env)
    from app.asgi import create_served_app
    from app.settings import get_settings

    get_settings.cache_clear()  # the env above is the bench's own stores
    app = create_served_app()
    auth = [(b"authorization", f"Bearer {ctx['api_key']}".encode()), (b"content-type", b"application/json")]
    tag = [(b"content-type", b"text/plain;charset=UTF-8"), (b"origin", hot.ORIGIN.encode())]
    site = ctx["site_key"]
    n = args.requests
    vector = json.dumps([round(0.1 * i, 1) for i in range(16)])
    cases: dict[str, tuple[str, list[tuple[bytes, bytes]], list[bytes]]] = {
        "select (beta_ts, 10 arms)": (
            "/api/v1/select",
            auth,
            [f'{{"experiment_id": "{ctx["select_id"]}", "context": {{"id": "v{i}"}}}}'.encode() for i in range(n)],
        ),
        "feedback": ("/api/v1/feedback", auth, [b.encode() for b in ctx["feedback_bodies"]]),
        "tag decide, 1 experiment": (
            "/p/" + site + "/d",
            tag,
            [f'{{"v": "v{i}", "x": ["hero"]}}'.encode() for i in range(n)],
        ),
        # as the tag sends it: the page's url (noted as the site's last sighting), referrer and language
        "tag decide, 1 experiment, page url": (
            "/p/" + site + "/d",
            tag,
            [
                f'{{"v": "v{i}", "x": ["hero"], "u": "https://shop.example/p/{i % 50}", "r": "", "l": "en"}}'.encode()
                for i in range(n)
            ],
        ),
        "tag decide, 5 experiments": (
            "/p/" + site + "/d",
            tag,
            [f'{{"v": "v{i}", "x": {json.dumps(list(hot.TAG_KEYS))}}}'.encode() for i in range(n)],
        ),
        "tag events (exposure + conversion)": ("/p/" + site + "/e", tag, [b.encode() for b in ctx["event_bodies"]]),
        "healthz": ("/healthz", [], [b""]),
        "select (lin_ucb, d=16)": (
            "/api/v1/select",
            auth,
            [
                f'{{"experiment_id": "{ctx["linear_id"]}", "context": {{"id": "v{i}", "vector": {vector}}}}}'.encode()
                for i in range(n)
            ],
        ),
    }
    chosen = [c for c in cases if not args.only or any(o in c for o in args.only)]
    async with app.lifespan():
        for name in chosen:
            path, headers, bodies = cases[name]
            await _load(app, path, headers, bodies, min(n, 500))  # warm-up
            profiler = cProfile.Profile(time.process_time) if args.profile else None
            if profiler is not None:
                profiler.enable()
            runs = [await _load(app, path, headers, bodies, n) for _ in range(args.runs)]
            if profiler is not None:
                profiler.disable()
                stats = pstats.Stats(profiler).sort_stats(args.profile)
                stats.print_stats(args.profile_lines)
                stats.print_callers("iscoroutine")
            each = ", ".join(f"{r:.1f}" for r in runs)
            print(f"{name:<38} {statistics.median(runs):7.1f} µs cpu/request  (runs: {each})")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--only", nargs="*", help="endpoints whose name contains one of these words")
    parser.add_argument("--profile", choices=["tottime", "cumulative"], help="print a cprofile of the runs, so sorted")
    parser.add_argument("--profile-lines", type=int, default=40)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="levers-bench-lean-") as tmp:
        data_dir = Path(tmp)
        with hot.stores(data_dir) as store_env:
            env = hot.levers_env(store_env, data_dir)
            subprocess.run([sys.executable, "-m", "app", "db", "upgrade"], env=env, cwd=ROOT, check=True)
            port = free_port()
            web = start(["serve", "--port", str(port), "--workers", "1"], env, data_dir / "web.log")
            try:
                base = f"http://127.0.0.1:{port}"
                wait_http(f"{base}/readyz", timeout=120)
                ctx = hot.setup(base)
            finally:
                stop(web, timeout=30)
            asyncio.run(measure(env, ctx, args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
