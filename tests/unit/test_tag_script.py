"""the served tag: its size budget and what it must never contain (issue 5, behaviours 7, 12, 13)."""

from __future__ import annotations

import gzip
import re

from app.domain.tag.services import TAG_SOURCE, render_tag

BUDGET = 6 * 1024


def served() -> str:
    return render_tag({"key": "site_abcdefghijklmnop", "api": "https://levers.example.com", "x": ["hero", "offer"]})


def test_gzipped_size_is_within_budget() -> None:
    size = len(gzip.compress(served().encode(), compresslevel=9))
    print(f"tag: {len(served())} bytes minified, {size} bytes gzipped")
    assert size <= BUDGET


def test_minified_is_smaller_and_config_is_inlined() -> None:
    text = served()
    assert len(text) < 0.8 * len(TAG_SOURCE.read_text())
    assert '{"key":"site_abcdefghijklmnop","api":"https://levers.example.com","x":["hero","offer"]}' in text
    assert "__LEVERS_CONFIG__" not in text


def test_config_cannot_close_a_script_element() -> None:
    text = render_tag({"key": "k", "api": "https://x", "x": ["</script><script>alert(1)</script>"]})
    assert "</script>" not in text


def test_no_eval_no_inline_handlers_no_unload() -> None:
    source = TAG_SOURCE.read_text()
    code = re.sub(r"//[^\n]*|/\*.*?\*/", "", source, flags=re.DOTALL)
    for banned in (
        "eval(",
        "new Function",
        'setTimeout("',
        "setInterval(",
        ".onclick",
        'setAttribute("on',
        '"unload"',
        "'unload'",
        "beforeunload",
        "document.write",
        "import(",
    ):
        assert banned not in code, banned
    assert '"pagehide"' in code and '"visibilitychange"' in code and "sendBeacon" in code and "keepalive: true" in code


def test_visual_editor_targets_stay_within_budget_and_the_editor_is_not_inlined() -> None:
    targets = {f"exp-{i}": f"section.pricing:nth-of-type({i}) > h2.promo-title" for i in range(5)}
    text = render_tag(
        {"key": "site_abcdefghijklmnop", "api": "https://levers.example.com", "x": list(targets), "s": targets}
    )
    assert len(gzip.compress(text.encode(), compresslevel=9)) <= BUDGET
    # the editor is a separate file, loaded only on ?levers_edit / ?levers_check
    assert "/t/editor.js" in text and "lv-selector" not in text and "edit/save" not in text
