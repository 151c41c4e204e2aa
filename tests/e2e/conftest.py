"""a real levers web server and worker in subprocesses, a fixture site on another origin, and chromium."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from app.settings import Settings
from tests.conftest import scoped
from tests.support.browser import system_chromium
from tests.support.processes import ROOT, free_port, process_env, start, stop, wait_http

FIXTURES = ROOT / "tag" / "fixtures"
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


@dataclass
class Levers:
    url: str
    settings: Settings


@pytest.fixture(scope="session")
def levers(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Levers]:
    e2e_settings = scoped(settings, "e2e")
    port = free_port()
    logs = tmp_path_factory.mktemp("levers-e2e")
    env = process_env(e2e_settings, PORT=str(port), BASE_URL=f"http://127.0.0.1:{port}")
    web = start(["serve", "--port", str(port)], env, logs / "web.log")
    worker = start(["worker"], env, logs / "worker.log")
    try:
        wait_http(f"http://127.0.0.1:{port}/healthz")
        yield Levers(url=f"http://127.0.0.1:{port}", settings=e2e_settings)
    finally:
        stop(web)
        stop(worker)


class FixtureSite:
    """serves tag/fixtures pages with the snippet and experiment key filled in, on its own origin."""

    def __init__(self) -> None:
        self.snippet = ""
        self.experiment_key = ""
        # what the site page says goes into <head> above gtm (the anti-flicker stylesheet line)
        self.head = ""
        site = self

        class Handler(SimpleHTTPRequestHandler):
            def do_GET(self) -> None:
                name = self.path.split("?", 1)[0].lstrip("/") or "basic.html"
                if name.endswith(".html"):
                    page = (FIXTURES / name).read_text()
                    body = page.replace("{{SNIPPET}}", site.snippet).replace("{{EXPERIMENT_KEY}}", site.experiment_key)
                    body = body.replace("{{HEAD}}", site.head)
                    data = body.encode()
                    self.send_response(200)
                    self.send_header("Content-Type", "text/html; charset=utf-8")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                    return
                super().do_GET()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), partial(Handler, directory=str(FIXTURES)))
        self.origin = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def fixture_site() -> Iterator[FixtureSite]:
    site = FixtureSite()
    yield site
    site.close()


def chromium_path() -> str | None:
    # none: playwright's own browser, which `make test` installs when the machine has no chromium
    return system_chromium()


# per module: playwright's sync api keeps an event loop running while it is open, and async tests need the
# thread's loop free, so the browser is closed between modules (and e2e modules run last)
@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS, headless=True)
        yield instance
        instance.close()


@pytest.fixture
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    item.stash.setdefault(_REPORTS, {})[report.when] = report
    return report


_REPORTS = pytest.StashKey[dict[str, pytest.TestReport]]()


@pytest.fixture
def context(browser: Any, request: pytest.FixtureRequest, artifacts: Path) -> Iterator[Any]:
    """a fresh browser context; on failure every open page is saved as a screenshot and its html."""
    context = browser.new_context()
    yield context
    report = request.node.stash.get(_REPORTS, {}).get("call")
    if report is not None and report.failed:
        for number, page in enumerate(context.pages):
            stem = artifacts / f"failed-{request.node.name}-{number}"
            page.screenshot(path=f"{stem}.png", full_page=True)
            Path(f"{stem}.html").write_text(page.content())
    context.close()
