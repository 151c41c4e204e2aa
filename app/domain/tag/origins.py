"""refused origins: a tag request from an origin the site does not allow is answered 403 and noted (rate-limited
and bounded, app.runtime.editing), so the site page can say which origin was refused and offer to allow it."""

from __future__ import annotations

from typing import Any

from litestar.datastructures import Headers

from app.lib.errors import PermissionDeniedError


class OriginRefusedError(PermissionDeniedError):
    def __init__(self, message: str, *, site_key: str, origin: str) -> None:
        super().__init__(message, field="origin")
        self.site_key = site_key
        self.origin = origin


def origin_of(value: str) -> str:
    return value.rstrip("/").lower()


async def note_refused_origin(exception: Exception, scope: Any) -> None:
    """after_exception hook: the handler raised, the 403 goes out as usual, the refusal is noted on the way."""
    if not isinstance(exception, OriginRefusedError):
        return
    store = getattr(scope["litestar_app"].state, "editing", None)
    if store is None:
        return
    page = Headers.from_scope(scope).get("referer", "")
    await store.note_refused(exception.site_key, origin_of(exception.origin)[:300], page)
