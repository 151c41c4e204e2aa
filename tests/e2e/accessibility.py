"""axe-core (vendored, MPL-2.0: tests/support/vendor) run inside a page, at desktop and phone size."""

from __future__ import annotations

from pathlib import Path
from typing import Any

AXE = Path(__file__).resolve().parents[1] / "support" / "vendor" / "axe-core-4.10.3.min.js"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 375, "height": 740}


def axe_violations(page: Any) -> list[str]:
    """the page's wcag 2.x a/aa violations, one line each (empty when clean).

    axe is evaluated through devtools, not added as a script, so the page's content security policy is unchanged."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.evaluate(AXE.read_text())
    result = page.evaluate(
        """async () => {
          const tags = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'];
          const r = await axe.run(document, {runOnly: {type: 'tag', values: tags}});
          return r.violations.map(v => v.id + ': ' + v.help + ' @ ' + v.nodes.map(n => n.target.join(' ')).join(', '));
        }"""
    )
    return list(result)


def assert_accessible(page: Any, what: str) -> None:
    """axe finds nothing at desktop size and at phone size; the viewport is left as it was."""
    size = page.viewport_size
    problems = []
    for name, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
        page.set_viewport_size(viewport)
        problems += [f"{what} ({name}): {line}" for line in axe_violations(page)]
    if size:
        page.set_viewport_size(size)
    assert not problems, "\n".join(problems)
