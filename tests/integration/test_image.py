"""the image as the Dockerfile builds it: every file the app reads at run time is admitted by .dockerignore and
copied, and the app runs from those files alone against real postgres and redis (no docker engine here: the
image's /app is assembled from the Dockerfile's COPY lines and the .dockerignore rules)."""

from __future__ import annotations

import asyncio
import json
import os
import re
import secrets
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from app.settings import Settings
from tests.conftest import scoped
from tests.integration.test_deploy_files import dockerfile_env
from tests.support.databases import empty_database
from tests.support.image import assemble, build_copies, dockerignore, image_files, in_context, translate
from tests.support.processes import ROOT, free_port, stop, wait_http

# modules that find files relative to the code, and what they find; a new one fails the scan below until its
# files are added to runtime_files()
LOCATORS = {
    "app/asgi.py": "page templates and static files",
    "app/domain/tag/services.py": "the tag's source",
    "app/domain/tag/templates.py": "the gtm templates",
    "app/lib/migrations.py": "alembic.ini and the migrations",
    "app/lib/passwords.py": "the common passwords list",
}
LOCATES = re.compile(r"__file__|importlib\.resources|importlib_resources|pkgutil\.get_data|pkg_resources")


def _files(directory: Path) -> list[Path]:
    return [p for p in directory.rglob("*") if p.is_file() and "__pycache__" not in p.parts]


def runtime_files() -> dict[str, list[Path]]:
    """the files the app opens while it runs, from the constants the code locates them with."""
    from app import asgi
    from app.domain.tag import services, templates
    from app.lib import migrations, passwords

    return {
        "page templates": _files(asgi.ROOT / "frontend" / "templates"),
        "static files": _files(asgi.ROOT / "frontend" / "static"),
        "tag source": [services.TAG_SOURCE],
        "gtm templates": [templates.GTM_DIR / name for name in templates.TEMPLATES.values()],
        "alembic": [migrations.ROOT / "alembic.ini", *_files(migrations.ROOT / "migrations")],
        "common passwords": [passwords.COMMON_PASSWORDS_FILE],
        "code": _files(ROOT / "app"),
    }


def test_the_dockerignore_reading_follows_docker() -> None:
    assert translate("**/__pycache__").match("app/domain/__pycache__")
    assert translate("**/__pycache__").match("__pycache__")
    assert translate("*").match("app") and not translate("*").match("app/asgi.py")
    assert translate("tag/*.js").match("tag/levers.js") and not translate("tag/*.js").match("tag/src/levers.js")
    patterns = dockerignore()
    # a deny-all context that admits what the image needs, a parent's rule covering what is under it
    for admitted in ("app/asgi.py", "tag/src/levers.js", "tag/gtm/levers-setup.tpl", "migrations/env.py"):
        assert in_context(admitted, patterns), admitted
    for left_out in (".venv/bin/python", ".git/HEAD", "tests/conftest.py", "tag/fixtures/gtm.js", ".levers/x"):
        assert not in_context(left_out, patterns), left_out
    assert not in_context("app/__pycache__/asgi.cpython-311.pyc", patterns)


def test_every_file_the_app_reads_at_run_time_is_in_the_image() -> None:
    workdir, _ = build_copies()
    assert workdir == "/app"
    in_image = {source.resolve() for source in image_files().values()}
    for what, files in runtime_files().items():
        assert files, what  # the scan found something: an empty list would pass anything
        missing = [str(f.relative_to(ROOT)) for f in files if f.resolve() not in in_image]
        assert not missing, f"{what} read at run time but not in the image: {missing}"
    # and nothing the image doesn't need (tests, fixtures, the dev data directory)
    assert not [p for p in image_files() if p.startswith(("tests/", "tag/fixtures/", ".levers/", ".venv/"))]


def test_only_known_modules_locate_files_beside_the_code() -> None:
    locating = {
        path.relative_to(ROOT).as_posix() for path in (ROOT / "app").rglob("*.py") if LOCATES.search(path.read_text())
    }
    assert locating == set(LOCATORS), f"list what {sorted(locating - set(LOCATORS))} reads in runtime_files()"


# runs `python -m app ...` with an audit hook that writes down every file the process opens
OPEN_LOGGER = """
import os, runpy, sys
log = os.open(os.environ["LEVERS_TEST_OPEN_LOG"], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
def hook(event, args):
    if event == "open" and args and isinstance(args[0], (str, bytes, os.PathLike)):
        os.write(log, os.path.abspath(os.fsdecode(args[0])).encode() + b"\\n")
sys.addaudithook(hook)
sys.argv[0] = "levers"
runpy.run_module("app", run_name="__main__", alter_sys=True)
"""


def _image_env(settings: Settings, database_url: str, image: Path, opens: Path, port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LEVERS_", "PROMETHEUS_"))}
    # LEVERS_ENV=production and the rest of the image's ENV, but this machine's PATH (the image's has its venv)
    env.update({k: v for k, v in dockerfile_env().items() if k != "PATH"})
    env.update(
        HOST="127.0.0.1",
        PORT=str(port),
        WEB_CONCURRENCY="1",
        DATABASE_URL=database_url,
        REDIS_URL=settings.redis_url,
        REDIS_PREFIX=settings.redis_prefix,
        SECRET_KEY=secrets.token_urlsafe(48),
        LEVERS_DATA_DIR=str(image.parent / "data"),
        LOG_LEVEL="INFO",
        LEVERS_TEST_OPEN_LOG=str(opens),
    )
    return env


def _levers(args: list[str], env: dict[str, str], image: Path, log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen([sys.executable, "-c", OPEN_LOGGER, *args], env=env, cwd=image, stdout=out, stderr=out)


def _events(log: Path) -> list[str]:
    events = []
    for line in log.read_text().splitlines():
        try:
            events.append(json.loads(line).get("event", ""))
        except ValueError:
            events.append(line)
    return events


@pytest.mark.slow
async def test_the_image_migrates_and_serves_from_its_own_files(settings: Settings, tmp_path: Path) -> None:
    """render's first deploy, from the image's files: the web starts on an empty database and waits, the
    pre-deploy `levers db upgrade` migrates it, then the web serves pages, static files, the tag and the gtm
    templates; nothing is read from outside the image."""
    image = assemble(tmp_path / "app")
    opens, log, port = tmp_path / "opens.txt", tmp_path / "levers.log", free_port()
    base = f"http://127.0.0.1:{port}"
    async with empty_database(settings, "image") as url:
        env = _image_env(scoped(settings, "image"), url, image, opens, port)
        web = _levers(["serve"], env, image, log)
        try:
            deadline = time.monotonic() + 60
            while "waiting for database migrations (levers db upgrade)" not in _events(log):
                assert web.poll() is None and time.monotonic() < deadline, log.read_text()
                await asyncio.sleep(0.05)
            upgrade = await asyncio.to_thread(
                subprocess.run,
                [sys.executable, "-c", OPEN_LOGGER, "db", "upgrade"],
                env=env,
                cwd=image,
                capture_output=True,
                text=True,
                timeout=120,
            )
            assert upgrade.returncode == 0, upgrade.stderr
            await asyncio.to_thread(wait_http, f"{base}/healthz")
            async with httpx.AsyncClient(base_url=base, timeout=10) as client:
                ready = await client.get("/readyz")
                assert ready.status_code == 200 and ready.json()["checks"]["migrations"] == "ok", ready.text
                credentials = {
                    "email": f"image-{secrets.token_hex(3)}@example.com",
                    "password": "correct horse battery",
                }
                assert (await client.post("/auth/register", json=credentials)).status_code == 201
                token = (await client.post("/auth/login", json=credentials)).json()["access_token"]
                site = await client.post(
                    "/api/v1/sites", json={"name": "image"}, headers={"Authorization": f"Bearer {token}"}
                )
                key = site.json()["public_key"]
                tag = await client.get(f"/t/{key}.js")
                assert tag.status_code == 200 and key in tag.text
                for kind in ("setup", "conversion"):
                    template = await client.get(f"/t/{key}.{kind}.tpl")
                    assert template.status_code == 200, template.text
                    assert "___SANDBOXED_JS_FOR_WEB_TEMPLATE___" in template.text
                setup = (await client.get(f"/t/{key}.setup.tpl")).text
                assert f"{base}/t/{key}.js" in setup
                page = await client.get("/login", headers={"accept": "text/html"})
                assert page.status_code == 200 and "<form" in page.text
                for static in ("/static/css/levers.css", "/static/js/levers-charts.js"):
                    assert (await client.get(static)).status_code == 200, static
        finally:
            stop(web)
    opened = {Path(line) for line in opens.read_text().splitlines()}
    from_image = {p for p in opened if p.is_relative_to(image)}
    # the hook saw the app's own files being read from the image (else the check below proves nothing)
    assert image / "app" / "asgi.py" in from_image and image / "tag" / "gtm" / "levers-setup.tpl" in from_image
    assert image / "alembic.ini" in from_image and image / "migrations" / "env.py" in from_image
    outside = sorted(
        str(p) for p in opened if p.is_relative_to(ROOT) and not p.is_relative_to(ROOT / ".venv") and p.exists()
    )
    assert not outside, f"read from the checkout, not the image: {outside}"
