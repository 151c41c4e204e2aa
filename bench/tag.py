"""speed of the browser tag against a running levers: ``uv run python bench/tag.py --url http://127.0.0.1:8000``.

signs up a throwaway account, adds a site and three experiments, then prints:
- the decide endpoint (``POST /p/{site}/d``, three experiments, text/plain) as median / p95 over ``--requests``
  sequential calls, beside ``GET /healthz`` of the same server in the same run (client and server share the
  machine, so the ratio says more than the absolute figures);
- the tag's size (minified, gzipped);
- with chromium available: time from navigation start to the decision applied (``data-levers-arm`` set on
  the marked element) over ``--loads`` page loads of a local fixture page through the gtm simulator, median
  and p95, each load in a fresh browser context (a first-time visitor).

the run makes about 600 tag requests from one address within a minute: start the server with a higher
`PUBLIC_RATE_LIMIT_PER_MINUTE` (e.g. 100000) or lower `--requests`. ``--serve`` (what `make bench` uses) starts
a throwaway `levers dev` on embedded stores with such a limit, and stops it after.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import secrets
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.domain.tag.services import render_tag  # noqa: E402
from tests.support.browser import system_chromium  # noqa: E402
from tests.support.processes import free_port, start, stop, wait_http  # noqa: E402

FIXTURES = ROOT / "tag" / "fixtures"
KEYS = ("hero", "offer", "cart")


def percentiles(samples: list[float]) -> str:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return f"median {statistics.median(ordered):7.2f} ms   p95 {p95:7.2f} ms   (n={len(ordered)})"


def setup(base: str, origin: str) -> tuple[httpx.Client, dict[str, Any]]:
    client = httpx.Client(base_url=base, timeout=10)
    credentials = {"email": f"bench-{secrets.token_hex(4)}@example.com", "password": "a long enough password"}
    client.post("/auth/register", json=credentials).raise_for_status()
    token = client.post("/auth/login", json=credentials).json()["access_token"]
    client.headers["Authorization"] = f"Bearer {token}"
    site = client.post("/api/v1/sites", json={"name": "bench", "allowed_origins": [origin]}).json()
    for key in KEYS:
        arms = [{"name": "A", "payload": {"text": "Variant A"}}, {"name": "B", "payload": {"text": "Variant B"}}]
        pool = client.post("/api/v1/pools", json={"name": key, "arms": arms}).json()
        body = {"name": key, "key": key, "pool_id": pool["id"], "site_id": site["id"], "reward_mode": "conversion"}
        client.post("/api/v1/experiments", json=body).raise_for_status()
    return client, site


def timed(call: Any, count: int) -> list[float]:
    samples = []
    for _ in range(count):
        start = time.perf_counter()
        call()
        samples.append((time.perf_counter() - start) * 1000)
    return samples


def endpoint(base: str, site: dict[str, Any], origin: str, count: int) -> None:
    headers = {"content-type": "text/plain;charset=UTF-8", "origin": origin}
    with httpx.Client(base_url=base, timeout=10) as client:
        visitor = iter(range(10**9))

        def decide() -> None:
            body = {"v": f"bench-{next(visitor)}", "x": list(KEYS), "u": f"{origin}/shop.html", "l": "en-GB"}
            response = client.post(f"/p/{site['public_key']}/d", content=json.dumps(body), headers=headers)
            assert response.status_code == 200 and len(response.json()["d"]) == len(KEYS), response.text

        timed(decide, 50)  # warm up connections and caches
        decide_ms = timed(decide, count)
        health_ms = timed(lambda: client.get("/healthz").raise_for_status(), count)
    print(f"decide (3 experiments)  {percentiles(decide_ms)}")
    print(f"healthz (baseline)      {percentiles(health_ms)}")
    print(f"decide / healthz median ratio: {statistics.median(decide_ms) / statistics.median(health_ms):.2f}")


def fixture_server() -> ThreadingHTTPServer:
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(_Quiet, directory=str(FIXTURES)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def browser_loads(snippet: str, origin: str, loads: int) -> None:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        print("playwright is not installed: browser timing skipped")
        return
    gtm = (
        (FIXTURES / "gtm.js")
        .read_text()
        .replace("__CONTAINER__", json.dumps({"tags": [{"name": "Levers setup", "html": snippet, "trigger": "init"}]}))
    )
    record = (
        "new MutationObserver((_, o) => { const el = document.querySelector('[data-levers-arm]');"
        " if (el) { window.__applied = performance.now(); o.disconnect(); } })"
        ".observe(document, {subtree: true, attributes: true, attributeFilter: ['data-levers-arm']});"
        "window.leversConfig = {allowAutomation: true};"
    )
    samples = []
    with sync_playwright() as playwright:
        executable = system_chromium()
        browser = playwright.chromium.launch(executable_path=executable, args=["--no-sandbox", "--disable-gpu"])
        for _ in range(loads):
            context = browser.new_context()
            context.route(
                "https://www.googletagmanager.com/gtm.js*",
                lambda route: route.fulfill(body=gtm, content_type="application/javascript"),
            )
            context.add_init_script(record)
            page = context.new_page()
            page.goto(f"{origin}/shop.html")
            page.wait_for_selector("#hero[data-levers-arm]")
            samples.append(page.evaluate("window.__applied"))
            context.close()
        browser.close()
    print(f"navigation start → decision applied ({loads} loads, local page)  {percentiles(samples)}")


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass


@contextmanager
def own_server() -> Iterator[str]:
    """a throwaway `levers dev` on a free port: embedded stores in a temporary folder, a high public rate limit."""
    with tempfile.TemporaryDirectory(prefix="levers-bench-") as data_dir:
        port = free_port()
        env = {key: value for key, value in os.environ.items() if key not in ("DATABASE_URL", "REDIS_URL")}
        env |= {"LEVERS_DATA_DIR": data_dir, "PUBLIC_RATE_LIMIT_PER_MINUTE": "100000", "LOG_LEVEL": "WARNING"}
        log = Path(data_dir) / "server.log"
        process = start(["dev", "--port", str(port)], env, log)
        try:
            url = f"http://127.0.0.1:{port}"
            wait_http(f"{url}/readyz", timeout=180)
            yield url
        finally:
            stop(process, timeout=40)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:8000", help="a running levers (make dev)")
    parser.add_argument("--serve", action="store_true", help="start a throwaway levers with embedded stores instead")
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--loads", type=int, default=20)
    args = parser.parse_args()
    if args.serve:
        with own_server() as url:
            run(url, args.requests, args.loads)
    else:
        run(args.url, args.requests, args.loads)


def run(url: str, requests: int, loads: int) -> None:
    script = render_tag({"key": "site_abcdefghijklmnop", "api": url, "x": list(KEYS)})
    print(f"tag: {len(script)} bytes minified, {len(gzip.compress(script.encode(), 9))} bytes gzipped")
    server = fixture_server()
    origin = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        client, site = setup(url, origin)
        endpoint(url, site, origin, requests)
        if loads:
            browser_loads(site["snippet"], origin, loads)
        client.close()
    finally:
        server.shutdown()
        server.server_close()


if __name__ == "__main__":
    main()
