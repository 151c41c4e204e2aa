"""the axe helper itself: scoped to one element, it sees into that element's shadow tree and nothing outside."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.accessibility import assert_accessible, axe_violations

pytestmark = pytest.mark.e2e

PAGE = """<!doctype html><html lang="en"><head><title>t</title></head><body><main>
<input id="outside">
<div id="panel"></div>
<div id="clean"></div>
</main></body></html>"""
# an unlabelled field inside the panel's shadow root (as levers' editor and install check draw theirs)
SHADOW = """() => {
  const root = document.getElementById('panel').attachShadow({mode: 'open'});
  root.innerHTML = '<input id="inside">';
  const clean = document.getElementById('clean').attachShadow({mode: 'open'});
  clean.innerHTML = '<label>Name <input></label>';
}"""


def test_a_scoped_run_checks_the_shadow_tree_and_only_it(context: Any) -> None:
    page = context.new_page()
    page.set_content(PAGE)
    page.evaluate(SHADOW)
    inside = axe_violations(page, "#panel")
    assert len(inside) == 1 and inside[0].startswith("label:") and "#inside" in inside[0]
    assert "#outside" not in inside[0]
    assert any("#outside" in line for line in axe_violations(page))
    assert_accessible(page, "clean shadow panel", root="#clean")
    with pytest.raises(AssertionError, match="no single #missing"):
        assert_accessible(page, "missing", root="#missing")
