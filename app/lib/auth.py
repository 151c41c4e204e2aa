"""who is calling: bearer tokens (jwt or api key) for the api, the session for pages, and role guards."""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult
from redis.exceptions import RedisError

from app.db.models import Role
from app.lib.tokens import API_KEY_PREFIX, TokenError, hash_api_key
from app.runtime.notes import OncePer

ROLE_RANK = {Role.VIEWER: 0, Role.EDITOR: 1, Role.ADMIN: 2, Role.OWNER: 3}
# "last used" of api keys: one redis write per key and process per minute, never postgres on the hot path
KEY_USE_EVERY_SECONDS = 60.0
_key_uses = OncePer(KEY_USE_EVERY_SECONDS)


async def note_key_use(cache: Any, key_id: str) -> None:
    if not _key_uses.due(key_id):
        return
    with contextlib.suppress(RedisError, OSError):
        await cache.redis.hset(cache.keys.api_key_uses, key_id, repr(time.time()))


@dataclass(frozen=True)
class Principal:
    organization_id: UUID
    role: Role
    user_id: UUID | None = None
    api_key_id: UUID | None = None

    def can(self, role: Role) -> bool:
        return ROLE_RANK[self.role] >= ROLE_RANK[role]


class BearerAuthMiddleware(AbstractAuthenticationMiddleware):
    async def authenticate_request(self, connection: ASGIConnection[Any, Any, Any, Any]) -> AuthenticationResult:
        header = connection.headers.get("authorization", "")
        scheme, _, credential = header.partition(" ")
        if scheme.lower() != "bearer" or not credential:
            raise NotAuthorizedException("send 'Authorization: Bearer <access token or API key>'")
        credential = credential.strip()
        state = connection.app.state
        if credential.startswith(API_KEY_PREFIX):
            return AuthenticationResult(user=await _api_key_principal(state.hot_cache, credential), auth=credential)
        return AuthenticationResult(user=jwt_principal(state, credential), auth=credential)


def jwt_principal(state: Any, credential: str) -> Principal:
    """the principal of an access token, checked against the hot cache's role changes (no i/o)."""
    try:
        claims = state.access_tokens.decode(credential)
        principal = Principal(
            organization_id=UUID(claims["org"]),
            role=Role(claims.get("role", "viewer")),
            user_id=UUID(claims["sub"]),
        )
    except (TokenError, ValueError, KeyError) as exc:
        raise NotAuthorizedException(str(exc) or "access token is invalid") from exc
    changed_at = state.hot_cache.member_changes.get(f"{claims['org']}:{claims['sub']}")
    if changed_at is not None and claims.get("iat", 0) < int(changed_at):
        raise NotAuthorizedException("your role in this organization changed; log in again")
    return principal


async def _api_key_principal(cache: Any, key: str) -> Principal:
    key_hash = hash_api_key(key)
    config = cache.api_keys.get(key_hash)
    if config is None:
        await cache.refresh_on_miss()
        config = cache.api_keys.get(key_hash)
    if config is None:
        raise NotAuthorizedException("API key is unknown or revoked")
    await note_key_use(cache, config.id)
    # api keys act for their organization with editor rights: they run experiments but manage no people or keys
    return Principal(organization_id=UUID(config.organization_id), role=Role.EDITOR, api_key_id=UUID(config.id))


def session_principal(connection: ASGIConnection[Any, Any, Any, Any]) -> Principal | None:
    session = connection.scope.get("session")
    if not isinstance(session, dict):
        return None
    try:
        return Principal(organization_id=UUID(session["org"]), role=Role(session["role"]), user_id=UUID(session["uid"]))
    except (KeyError, ValueError, TypeError):
        return None


def _principal(connection: ASGIConnection[Any, Any, Any, Any]) -> Principal:
    user = connection.scope.get("user")
    if isinstance(user, Principal):
        return user
    principal = session_principal(connection)
    if principal is None:
        raise NotAuthorizedException("log in first")
    return principal


def requires_role(role: Role) -> Any:
    def guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        if not _principal(connection).can(role):
            raise PermissionDeniedException(f"this needs the {role.value} role or higher")

    guard.__name__ = f"requires_{role.value}"
    return guard


requires_viewer = requires_role(Role.VIEWER)
requires_editor = requires_role(Role.EDITOR)
requires_admin = requires_role(Role.ADMIN)
