"""the chromium the browser tests drive, provisioned by `make test` when the machine has none.

order: `CHROMIUM_PATH`, a system chromium, playwright's own browser; when none is there,
`playwright install chromium` (with `--with-deps` as root), then the distribution's `chromium` package through
apt-get as root; otherwise one clear line saying what to install, and a non-zero exit so nothing runs without
its browser. run: ``uv run python -m tests.support.browser``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

SYSTEM_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser")
INSTALL_TIMEOUT_SECONDS = 900


def system_chromium() -> str | None:
    """an explicitly configured or system-wide chromium, or None."""
    for candidate in (os.environ.get("CHROMIUM_PATH"), *SYSTEM_CANDIDATES, shutil.which("chromium")):
        if candidate and Path(candidate).exists():
            return candidate
    return None


def playwright_chromium() -> str | None:
    """playwright's own downloaded chromium, or None when `playwright install chromium` never ran."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        path = playwright.chromium.executable_path
    return path if path and Path(path).exists() else None


def find_chromium() -> str | None:
    return system_chromium() or playwright_chromium()


def _run(command: Sequence[str]) -> bool:
    print(f"browser: {' '.join(command)}", flush=True)
    try:
        return subprocess.run(command, timeout=INSTALL_TIMEOUT_SECONDS, check=False).returncode == 0
    except (OSError, subprocess.TimeoutExpired) as exc:
        print(f"browser: {command[0]} failed: {exc}", flush=True)
        return False


def install_steps(is_root: bool, has_apt: bool) -> list[list[str]]:
    """what to try, in order, to get a chromium onto this machine."""
    playwright = [sys.executable, "-m", "playwright", "install", "chromium"]
    steps = [[*playwright, "--with-deps"]] if is_root and has_apt else []
    steps.append(playwright)
    if is_root and has_apt:
        env = "DEBIAN_FRONTEND=noninteractive"
        steps.append(["sh", "-c", f"apt-get update -qq && {env} apt-get install -y -qq chromium"])
    return steps


def ensure_chromium(
    find: Callable[[], str | None] = find_chromium,
    run: Callable[[Sequence[str]], bool] = _run,
    is_root: bool | None = None,
    has_apt: bool | None = None,
) -> str | None:
    """the path (or playwright's marker) of a usable chromium after installing one if needed; None if impossible."""
    found = find()
    if found:
        return found
    is_root = (os.geteuid() == 0) if is_root is None else is_root
    has_apt = (shutil.which("apt-get") is not None) if has_apt is None else has_apt
    for step in install_steps(is_root, has_apt):
        if run(step):
            found = find()
            if found:
                return found
    return None


def main() -> int:
    path = ensure_chromium()
    if path is None:
        print(
            "browser: no chromium for the browser tests and none could be installed; install one with "
            "`apt-get install chromium` (as root) or `uv run playwright install chromium`, then run `make test` again",
            file=sys.stderr,
        )
        return 1
    print(f"browser: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
