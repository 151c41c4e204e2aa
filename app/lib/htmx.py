"""answers shared by the forms htmx swaps in place."""

from __future__ import annotations

from typing import Any

from litestar import Response
from litestar.plugins.htmx import ClientRedirect, HTMXRequest
from litestar.response import Redirect
from litestar.status_codes import HTTP_200_OK


def after_save(request: HTMXRequest, url: str) -> Response[Any]:
    """a saved form moves on to ``url``: htmx is told to load it (a 3xx would be followed and swapped into the
    form), a plain post (no javascript) is redirected."""
    if not request.htmx:
        return Redirect(url)
    answer = ClientRedirect(url)
    # a post handler's default would make it a 201
    answer.status_code = HTTP_200_OK
    return answer
