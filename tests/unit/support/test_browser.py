"""make test's browser provisioning: the order it tries things in, and that it stops when it can't.

the machine's own chromium can't be removed for a test, so finding and installing are passed in.
"""

from __future__ import annotations

from collections.abc import Sequence

from tests.support import browser


class Machine:
    """a machine on which the nth install step (0-based) makes a chromium appear; -1: none does."""

    def __init__(self, working_step: int) -> None:
        self.working_step = working_step
        self.ran: list[list[str]] = []
        self.installed = False

    def find(self) -> str | None:
        return "/opt/chromium" if self.installed else None

    def run(self, command: Sequence[str]) -> bool:
        self.ran.append(list(command))
        if len(self.ran) - 1 == self.working_step:
            self.installed = True
            return True
        return False


def test_a_present_browser_installs_nothing() -> None:
    machine = Machine(working_step=0)
    machine.installed = True
    assert browser.ensure_chromium(machine.find, machine.run, is_root=True, has_apt=True) == "/opt/chromium"
    assert machine.ran == []


def test_root_with_apt_tries_playwright_with_deps_then_playwright_then_the_distribution_package() -> None:
    machine = Machine(working_step=2)
    assert browser.ensure_chromium(machine.find, machine.run, is_root=True, has_apt=True) == "/opt/chromium"
    assert machine.ran[0][-3:] == ["install", "chromium", "--with-deps"]
    assert machine.ran[1][-2:] == ["install", "chromium"]
    assert "apt-get install -y -qq chromium" in machine.ran[2][-1]


def test_stops_at_the_first_step_that_works() -> None:
    machine = Machine(working_step=0)
    assert browser.ensure_chromium(machine.find, machine.run, is_root=True, has_apt=True) == "/opt/chromium"
    assert len(machine.ran) == 1


def test_without_root_only_playwright_is_tried_and_failure_is_none() -> None:
    machine = Machine(working_step=-1)
    assert browser.ensure_chromium(machine.find, machine.run, is_root=False, has_apt=True) is None
    assert machine.ran == [[*machine.ran[0][:-2], "install", "chromium"]]
    assert all("apt-get" not in " ".join(step) for step in machine.ran)


def test_a_step_that_succeeds_without_a_browser_appearing_goes_on() -> None:
    calls: list[list[str]] = []

    def run(command: Sequence[str]) -> bool:
        calls.append(list(command))
        return True

    assert browser.ensure_chromium(lambda: None, run, is_root=True, has_apt=True) is None
    assert len(calls) == 3


def test_main_says_what_to_install_when_nothing_works(monkeypatch, capsys) -> None:
    monkeypatch.setattr(browser, "ensure_chromium", lambda: None)
    assert browser.main() == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "apt-get install chromium" in err[0] and "playwright install chromium" in err[0]
