"""a served process settles its heap once started: startup's objects frozen, a larger first generation."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from app.lib.heap import GEN0_THRESHOLD, settle_heap


@pytest.fixture
def interpreter_defaults() -> Iterator[None]:
    before = gc.get_threshold()
    gc.unfreeze()
    yield
    gc.unfreeze()
    gc.set_threshold(*before)


@pytest.mark.usefixtures("interpreter_defaults")
def test_settle_heap_freezes_what_startup_made_and_widens_the_first_generation() -> None:
    assert gc.get_freeze_count() == 0
    survivor = [{"made": "at startup"}]
    settle_heap()
    assert gc.get_freeze_count() > 0
    assert gc.get_threshold()[0] == GEN0_THRESHOLD
    assert survivor[0]["made"] == "at startup"  # frozen, not freed
