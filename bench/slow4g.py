"""the results page on an emulated slow-4G phone: time until its numbers show, cold and warm (``make bench-slow4g``).

starts its own `levers serve` (a fresh database and redis prefix, as bench/hot_path.py), signs up, creates a
three-arm experiment with two weeks of hourly results, logs in, and loads the results page in chromium with a
Pixel 7's viewport and user agent, chrome devtools' "Slow 4G" network preset and 4x cpu throttling:

- the "Slow 4G" preset of devtools (and lighthouse's `devtools` throttling): 1.6 Mbit/s down and 750 kbit/s up,
  each times 0.9, and 150 ms rtt times 3.75 = 562.5 ms added to every request (devtools adds it per request, not
  per round trip, hence the factor). ``--preset lighthouse`` uses lighthouse's simulated mobile figures instead
  (150 ms, 1.6 Mbit/s, 750 kbit/s, no factors), a kinder network.
- three visits, each in a fresh browser context: "empty cache" opens the results page in a browser that has
  never loaded levers (handed the session cookie, not the one saying which css it holds); "after logging in"
  opens it right after logging in through the login page, which has brought the css (inline, and the file by a
  prefetch) and htmx (a person's real first visit); "repeat visit" opens it once more in that context, so every
  css and js file, named by content hash, comes from the cache without asking.
- "numbers visible": the render time of the results table's visitor counts, from the browser's element timing
  api (the paint that showed them, css applied), measured from navigation start. median of ``--runs``.
- bytes: what crossed the network (compressed, headers included) per load, by the time the page was loaded.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.hot_path import levers_env, stores  # noqa: E402
from tests.support.browser import system_chromium  # noqa: E402
from tests.support.processes import free_port, stop, wait_http  # noqa: E402

TARGET_MS = 1500
PRESETS = {
    # chrome devtools' "Slow 4G" (front_end/core/sdk/NetworkManager.ts), bytes per second and ms per request
    "devtools": {"latency": 150 * 3.75, "download": 1.6e6 / 8 * 0.9, "upload": 750e3 / 8 * 0.9},
    "lighthouse": {"latency": 150.0, "download": 1.6e6 / 8, "upload": 750e3 / 8},
}
# marks the visitor counts for element timing (an attribute set before their first paint) and records the paint
MARK_NUMBERS = """
(() => {
  window.__numbers = null;
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      if (entry.identifier !== "numbers" || window.__numbers !== null) continue;
      window.__numbers = entry.renderTime || entry.loadTime;
    }
  }).observe({ type: "element", buffered: true });
  const mark = () => document.querySelectorAll('.results-table [data-field="exposures"] .v')
    .forEach((el) => el.setAttribute("elementtiming", "numbers"));
  new MutationObserver(mark).observe(document, { childList: true, subtree: true });
})();
"""


@dataclass
class Load:
    numbers_ms: float
    loaded_ms: float
    bytes: int
    requests: int


def seed(base: str, database_url: str) -> tuple[str, tuple[str, str]]:
    """an account and a running three-arm experiment with 14 days of hourly rows: the page's path, the login."""
    from tests.integration.pages_support import seed_rows

    email, password = f"slow4g-{secrets.token_hex(4)}@example.com", "a long enough password"
    with httpx.Client(base_url=base, timeout=30) as client:
        client.post("/auth/register", json={"email": email, "password": password}).raise_for_status()
        token = client.post("/auth/login", json={"email": email, "password": password}).json()["access_token"]
        auth = {"Authorization": f"Bearer {token}"}
        arms = [{"name": name, "payload": {"text": name}} for name in ("Control", "Green button", "Big headline")]
        pool = client.post("/api/v1/pools", json={"name": "cta", "arms": arms}, headers=auth).json()
        body = {"name": "Checkout button", "pool_id": pool["id"], "reward_mode": "conversion", "status": "running"}
        experiment = client.post("/api/v1/experiments", json=body, headers=auth)
        experiment.raise_for_status()
        experiment_id = experiment.json()["id"]
        rows = [(42_000, 1_680), (41_500, 1_910), (40_800, 1_700)]
        asyncio.run(seed_rows(database_url.replace("postgresql://", "postgresql+asyncpg://"), experiment_id, rows, 336))
        return f"/experiments/{experiment_id}", (email, password)


def throttle(context: Any, page: Any, preset: dict[str, float], cpu: float) -> Any:
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send(
        "Network.emulateNetworkConditions",
        {
            "offline": False,
            "latency": preset["latency"],
            "downloadThroughput": preset["download"],
            "uploadThroughput": preset["upload"],
        },
    )
    if cpu > 1:
        cdp.send("Emulation.setCPUThrottlingRate", {"rate": cpu})
    received: dict[str, float] = {}
    cdp.on(
        "Network.loadingFinished", lambda event: received.__setitem__(event["requestId"], event["encodedDataLength"])
    )
    return received


def visit(page: Any, url: str, received: dict[str, float]) -> Load:
    received.clear()
    page.goto(url, wait_until="load")
    # polled from here: wait_for_function evaluates a string in the page, which its csp refuses
    numbers = None
    for _ in range(3000):
        if (numbers := page.evaluate("window.__numbers")) is not None:
            break
        page.wait_for_timeout(20)
    if numbers is None:
        raise TimeoutError("the results numbers were never painted")
    loaded = page.evaluate("performance.getEntriesByType('navigation')[0].loadEventEnd")
    # a file from the cache finishes too, with no bytes: only what crossed the network counts as a request
    return Load(numbers, loaded, int(sum(received.values())), sum(1 for size in received.values() if size > 0))


def log_in(page: Any, base: str, email: str, password: str) -> None:
    page.goto(base + "/login")
    page.fill("#email", email)
    page.fill("#password", password)
    with page.expect_navigation():
        page.click("button[type=submit]")


def measure(base: str, path: str, account: tuple[str, str], preset: dict[str, float], cpu: float, runs: int) -> None:
    from playwright.sync_api import sync_playwright

    loads: dict[str, list[Load]] = {"empty cache": [], "after logging in": [], "repeat visit": []}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=system_chromium(), args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"]
        )
        phone = playwright.devices["Pixel 7"]
        for index in range(runs + 1):  # the first round warms the server up and is not counted
            # a browser that has never seen levers, handed a session cookie: nothing cached
            context = browser.new_context(**phone)
            context.add_init_script(MARK_NUMBERS)
            page = context.new_page()
            log_in(page, base, *account)
            # the login, not the css cookie: it would say this browser holds a stylesheet its empty cache has not
            cookies = [cookie for cookie in context.cookies() if cookie["name"] != "levers_css"]
            context.close()
            context = browser.new_context(**phone)
            context.add_cookies(cookies)  # type: ignore[arg-type]
            context.add_init_script(MARK_NUMBERS)
            page = context.new_page()
            received = throttle(context, page, preset, cpu)
            empty = visit(page, base + path, received)
            context.close()
            # what a person does: log in (the login page brings the css and htmx), then open the results
            context = browser.new_context(**phone)
            context.add_init_script(MARK_NUMBERS)
            page = context.new_page()
            log_in(page, base, *account)
            received = throttle(context, page, preset, cpu)
            first = visit(page, base + path, received)
            page.goto("about:blank")
            again = visit(page, base + path, received)
            context.close()
            if index:
                for name, load in zip(loads, (empty, first, again), strict=True):
                    loads[name].append(load)
        browser.close()
    for name, samples in loads.items():
        numbers = statistics.median(load.numbers_ms for load in samples)
        verdict = "ok" if numbers <= TARGET_MS else "over"
        print(
            f"  {name:17} numbers visible {numbers:5.0f} ms (median of {len(samples)}; ≤ {TARGET_MS} ms: {verdict})"
            f"   load event {statistics.median(load.loaded_ms for load in samples):5.0f} ms"
            f"   {statistics.median(load.bytes for load in samples) / 1024:5.1f} KB over the wire"
            f" in {statistics.median(load.requests for load in samples):.0f} responses"
        )


@contextlib.contextmanager
def server(root: Path) -> Iterator[tuple[str, str]]:
    """`levers serve` from the checkout at ``root`` on fresh stores: its url and database url."""
    with tempfile.TemporaryDirectory(prefix="levers-slow4g-") as data, stores(Path(data)) as store_env:
        env = {**levers_env(store_env, Path(data)), "AUTH_RATE_LIMIT_PER_MINUTE": "100000"}
        subprocess.run([sys.executable, "-m", "app", "db", "upgrade"], env=env, cwd=root, check=True)
        port = free_port()
        with (Path(data) / "web.log").open("ab") as log:
            web = subprocess.Popen(
                [sys.executable, "-m", "app", "serve", "--port", str(port), "--workers", "1"],
                env=env,
                cwd=root,
                stdout=log,
                stderr=log,
                start_new_session=True,
            )
        try:
            wait_http(f"http://127.0.0.1:{port}/readyz", timeout=120)
            yield f"http://127.0.0.1:{port}", store_env["DATABASE_URL"]
        finally:
            stop(web, timeout=30)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--cpu", type=float, default=4.0, help="cpu slowdown (lighthouse's mobile default: 4)")
    parser.add_argument("--preset", choices=sorted(PRESETS), action="append", help="default: devtools")
    parser.add_argument("--root", type=Path, default=ROOT, help="the checkout whose app to serve (a before/after)")
    args = parser.parse_args()
    with server(args.root.resolve()) as (base, database_url):
        path, account = seed(base, database_url)
        for name in args.preset or ["devtools"]:
            preset = PRESETS[name]
            print(
                f"results page, Pixel 7, {name} slow 4G ({preset['latency']:g} ms per request, "
                f"{preset['download'] * 8 / 1e6:.2f} Mbit/s down, {preset['upload'] * 8 / 1e3:.0f} kbit/s up), "
                f"cpu {args.cpu:g}x slower:"
            )
            measure(base, path, account, preset, args.cpu, args.runs)
    return 0


if __name__ == "__main__":
    if "TEST_DATABASE_URL" not in os.environ:
        print("no TEST_DATABASE_URL / TEST_REDIS_URL: embedded stores (slower to start)")
    sys.exit(main())
