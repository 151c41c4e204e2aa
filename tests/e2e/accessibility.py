"""axe-core (vendored, MPL-2.0: tests/support/vendor) run inside a page, at desktop and phone size."""

from __future__ import annotations

from pathlib import Path
from typing import Any

AXE = Path(__file__).resolve().parents[1] / "support" / "vendor" / "axe-core-4.10.3.min.js"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 375, "height": 740}


def axe_violations(page: Any, root: str | None = None) -> list[str]:
    """the page's wcag 2.x a/aa violations, one line each (empty when clean); only inside `root` (a css selector,
    its shadow tree included) when given, e.g. levers' own panel on a customer's page.

    axe is evaluated through devtools, not added as a script, so the page's content security policy is unchanged."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.evaluate(AXE.read_text() + "\n;0")
    result = page.evaluate(
        """async (root) => {
          const tags = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'];
          const context = root ? {include: [[root]]} : document;
          // on a customer's page axe would fetch the page's cross-origin stylesheets, without cors: console errors
          const r = await axe.run(context, {runOnly: {type: 'tag', values: tags}, preload: !root});
          return r.violations.map(v => v.id + ': ' + v.help + ' @ ' + v.nodes.map(n => n.target.join(' ')).join(', '));
        }""",
        root,
    )
    return list(result)


def assert_accessible(page: Any, what: str, root: str | None = None) -> None:
    """axe finds nothing at desktop size and at phone size (in `root` only, when given); the viewport is left as
    it was."""
    if root is not None:
        assert page.locator(root).count() == 1, f"{what}: no single {root} to check"
    size = page.viewport_size
    problems = []
    for name, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
        page.set_viewport_size(viewport)
        problems += [f"{what} ({name}): {line}" for line in axe_violations(page, root)]
    if size:
        page.set_viewport_size(size)
    assert not problems, "\n".join(problems)
