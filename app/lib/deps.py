"""dependency providers shared by the controllers."""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.exceptions import NotAuthorizedException

from app.lib.auth import Principal, session_principal


def provide_principal(request: Request[Any, Any, Any]) -> Principal:
    user = request.scope.get("user")
    if isinstance(user, Principal):
        return user
    principal = session_principal(request)
    if principal is None:
        raise NotAuthorizedException("log in first")
    return principal
