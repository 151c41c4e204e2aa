"""answers shared by the forms htmx swaps in place."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response
from litestar.plugins.htmx import ClientRedirect, HTMXRequest
from litestar.response import Redirect
from litestar.status_codes import HTTP_200_OK


def client_redirect(url: str) -> Response[Any]:
    """tells htmx to load ``url`` as a whole page; a 3xx would be followed by its request and swapped in."""
    answer = ClientRedirect(url)
    # a post handler's default would make it a 201
    answer.status_code = HTTP_200_OK
    return answer


def after_save(request: HTMXRequest, url: str) -> Response[Any]:
    """a saved form moves on to ``url``: htmx loads it, a plain post (no javascript) is redirected."""
    return client_redirect(url) if request.htmx else Redirect(url)


def to_login(request: Request[Any, Any, Any]) -> Response[Any]:
    """a page request without a session goes to the login page, and comes back after it. for htmx (a form
    swapped in place when the session had run out) the whole window goes, back to the page it was on."""
    if isinstance(request, HTMXRequest) and request.htmx:
        return client_redirect(f"/login?next={request.htmx.current_url_abs_path or request.url.path}")
    return Redirect(f"/login?next={request.url.path}")
