"""embedding data in html safely."""

from __future__ import annotations

from typing import Any

import msgspec

# inside <script type="application/json"> the html parser still reacts to `<!--`, `<script` and `</script`: an
# arm named `<!--<script>` switched it into its "double escaped" state, and the page's real `</script>` no longer
# closed the element (the results page was cut there). json may spell any character as an escape (\u003c for <),
# so <, > and & never reach the parser as such; u+2028/2029 are escaped too, for scripts that eval the text.
_ESCAPES = str.maketrans({"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"})


def json_for_script(value: Any) -> str:
    """json text safe to place verbatim inside a <script type="application/json"> element."""
    return msgspec.json.encode(value).decode().translate(_ESCAPES)
