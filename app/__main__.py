"""the `levers` command: dev | serve | worker | db upgrade | simulate | analyze | replay."""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import subprocess
import sys
import tempfile
import time

from app.settings import SettingsError, get_settings, load_settings


def _require_urls(*names: str) -> None:
    missing = [name for name in names or ("DATABASE_URL", "REDIS_URL") if not os.environ.get(name)]
    if missing:
        sys.exit(f"levers: {' and '.join(missing)} not set; use `levers dev` to run with embedded servers")


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from app.lib.migrations import wait_for_schema_before_serving

    _require_urls()
    settings = get_settings()
    wait_for_schema_before_serving(settings)
    if (args.workers or 1) > 1 and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        # several processes answer /metrics in turn: they share their series through files (prometheus_client)
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="levers-metrics-")
    uvicorn.run(
        "app.asgi:create_served_app",
        factory=True,
        host=args.host or settings.host,
        port=args.port or settings.port,
        workers=args.workers,
        # X-Forwarded-For / -Proto only from the proxies named in FORWARDED_ALLOW_IPS (default loopback): from
        # anyone else the header is ignored, so a client can't pick the address its rate limits count against
        proxy_headers=True,
        forwarded_allow_ips=settings.forwarded_allow_ips,
        log_level=settings.log_level.lower(),
        # the app logs each request itself, with its request id; in json mode uvicorn's own lines go through it too
        access_log=False,
        log_config=None if settings.log_json else uvicorn.config.LOGGING_CONFIG,
        # on SIGTERM: stop accepting, let in-flight requests finish for up to 20 s (render waits 30 s, compose 30 s)
        timeout_graceful_shutdown=20,
    )
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    # the worker's series reach /metrics through redis; in a shared multiprocess directory the web would
    # also read them from the files and expose each series twice
    os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)
    from app.lib.logging import configure_logging
    from app.worker.supervise import run_until_stopped

    _require_urls()
    settings = get_settings()
    configure_logging(settings)
    if settings.worker_nice:
        # a batch is a burst of cpu once a second: where it shares cores with the web process, requests go
        # first (bench/hot_path.py: select's p99 under load), and the worker catches up in the gaps
        os.nice(settings.worker_nice)
    try:
        import uvloop  # with uvicorn[standard], everywhere but windows
    except ImportError:
        pass
    else:
        # the loop uvicorn gives the web process: the worker's redis and postgres i/o went through asyncio's own
        # selector loop, whose socket writes alone were 15% of the worker's cpu under load (py-spy)
        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    return run_until_stopped(settings)


def cmd_db(args: argparse.Namespace) -> int:
    from app.lib.migrations import upgrade

    _require_urls("DATABASE_URL")
    upgrade(get_settings().async_database_url, args.revision)
    print(f"database upgraded to {args.revision}")
    return 0


def cmd_simulate(args: argparse.Namespace, rest: list[str]) -> int:
    from app.simulation import cli

    return cli(rest)


def cmd_replay(args: argparse.Namespace, rest: list[str]) -> int:
    from app.offline.cli import cli

    return cli(rest)


def cmd_dev(args: argparse.Namespace) -> int:
    """runs web and worker; starts embedded postgres / redis for whichever url is not set."""
    from app.lib.embedded import embedded_stores
    from app.lib.migrations import upgrade

    settings = load_settings()
    need_pg, need_redis = not settings.database_url, not settings.redis_url
    stopping = False

    def on_signal(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    with embedded_stores(settings.data_dir, need_postgres=need_pg, need_redis=need_redis) as store_env:
        env = {**os.environ, **store_env}
        os.environ.update(store_env)
        get_settings.cache_clear()
        upgrade(get_settings().async_database_url)
        port = str(args.port or settings.port)
        worker_command = [sys.executable, "-m", "app", "worker"]
        children = [
            subprocess.Popen([sys.executable, "-m", "app", "serve", "--port", port], env=env),
            subprocess.Popen(worker_command, env=env),
        ]
        print(f"levers is running on http://{settings.host}:{port} (Ctrl-C stops everything)", flush=True)
        delay, started = 0.5, time.monotonic()
        try:
            while not stopping and children[0].poll() is None:
                code = children[1].poll()
                if code is not None and not stopping:
                    # a crashed worker must not take the web and the stores down with it: start another
                    if time.monotonic() - started > 60:
                        delay = 0.5
                    print(f"levers: the worker exited ({code}); restarting it in {delay:g} s", flush=True)
                    time.sleep(delay)
                    delay = min(delay * 2, 15.0)
                    if not stopping:
                        children[1], started = subprocess.Popen(worker_command, env=env), time.monotonic()
                time.sleep(0.2)
        finally:
            for child in children:
                if child.poll() is None:
                    child.send_signal(signal.SIGTERM)
            deadline = time.monotonic() + 25
            for child in children:
                try:
                    child.wait(timeout=max(0.1, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    child.kill()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="levers", description="Levers: adaptive website experiments")
    sub = parser.add_subparsers(dest="command", required=True)
    dev = sub.add_parser("dev", help="run web + worker, with embedded postgres/redis when no urls are set")
    dev.add_argument("--port", type=int)
    serve = sub.add_parser("serve", help="run the web app (uvicorn)")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.add_argument("--workers", type=int, default=int(os.environ.get("WEB_CONCURRENCY", "1")))
    sub.add_parser("worker", help="run the arq worker that trains the policies")
    db = sub.add_parser("db", help="database migrations")
    db_sub = db.add_subparsers(dest="db_command", required=True)
    up = db_sub.add_parser("upgrade", help="apply migrations up to a revision")
    up.add_argument("revision", nargs="?", default="head")
    sub.add_parser("simulate", help="simulate a policy on a scenario (see `levers simulate --help`)", add_help=False)
    sub.add_parser(
        "replay", help="what a policy would have earned on logged traffic (`levers replay --help`)", add_help=False
    )
    sub.add_parser("analyze", help="verdicts from hourly csv exports (see `levers analyze --help`)", add_help=False)
    args, rest = parser.parse_known_args(argv)
    try:
        if args.command == "simulate":
            return cmd_simulate(args, rest)
        if args.command == "replay":
            return cmd_replay(args, rest)
        if args.command == "analyze":
            from app.analyze_cli import cli as analyze_cli

            return analyze_cli(rest)
        if rest:
            parser.error(f"unrecognized arguments: {' '.join(rest)}")
        handler = {"dev": cmd_dev, "serve": cmd_serve, "worker": cmd_worker, "db": cmd_db}[args.command]
        return handler(args)
    except SettingsError as exc:
        sys.exit(f"levers: {exc}")


if __name__ == "__main__":
    sys.exit(main())
