from __future__ import annotations

from uuid import UUID

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, JSONBody
from litestar.status_codes import HTTP_201_CREATED, HTTP_204_NO_CONTENT

from app.domain.accounts.schemas import AccessToken, ApiKeyCreate, ApiKeyCreated, ApiKeyInfo, Login, Me, Registration
from app.domain.accounts.services import Account, AccountService, provide_account_service
from app.lib.auth import Principal, requires_admin
from app.lib.deps import provide_principal
from app.lib.errors import UnauthorizedError


def me_out(account: Account) -> Me:
    m = account.membership
    return Me(
        id=account.user.id,
        email=account.user.email,
        organization_id=m.organization_id,
        organization_name=m.organization.name,
        role=m.role.value,
    )


def _key_info(key: object) -> ApiKeyInfo:
    return ApiKeyInfo(
        id=key.id,
        name=key.name,
        prefix=key.prefix,
        created_at=key.created_at,  # type: ignore[attr-defined]
        last_used_at=key.last_used_at,
        revoked_at=key.revoked_at,  # type: ignore[attr-defined]
    )


class PublicAuthController(Controller):
    path = "/auth"
    tags = ["auth"]
    dependencies = {"accounts": Provide(provide_account_service, sync_to_thread=False)}

    @post("/register", status_code=HTTP_201_CREATED, exclude_from_auth=True)
    async def register(self, data: JSONBody[Registration], accounts: NamedDependency[AccountService]) -> Me:
        return me_out(await accounts.register(data.email, data.password, data.organization_name))

    @post("/login", status_code=200, exclude_from_auth=True)
    async def login(
        self, data: JSONBody[Login], accounts: NamedDependency[AccountService], request: Request
    ) -> AccessToken:
        account = await accounts.authenticate(data.email, data.password)
        tokens = request.app.state.access_tokens
        token = tokens.issue(
            user_id=account.user.id,
            organization_id=account.membership.organization_id,
            role=account.membership.role.value,
        )
        return AccessToken(access_token=token, expires_in=tokens.ttl_seconds)


class AuthController(Controller):
    path = "/auth"
    tags = ["auth"]
    dependencies = {
        "accounts": Provide(provide_account_service, sync_to_thread=False),
        "principal": Provide(provide_principal, sync_to_thread=False),
    }

    @get("/me")
    async def me(self, accounts: NamedDependency[AccountService], principal: NamedDependency[Principal]) -> Me:
        if principal.user_id is None:
            raise UnauthorizedError("an API key has no user; log in to see /auth/me")
        return me_out(await accounts.me(principal))

    @post("/logout-everywhere", status_code=HTTP_204_NO_CONTENT)
    async def logout_everywhere(
        self, accounts: NamedDependency[AccountService], principal: NamedDependency[Principal]
    ) -> None:
        """ends every dashboard session and every access token of the caller (this one included)."""
        if principal.user_id is None:
            raise UnauthorizedError("an API key has no user; revoke the key instead")
        await accounts.log_out_everywhere(principal.user_id)

    @post("/api-keys", status_code=HTTP_201_CREATED, guards=[requires_admin])
    async def create_api_key(
        self,
        data: JSONBody[ApiKeyCreate],
        accounts: NamedDependency[AccountService],
        principal: NamedDependency[Principal],
    ) -> ApiKeyCreated:
        api_key, secret = await accounts.create_api_key(principal, data.name)
        return ApiKeyCreated(
            id=api_key.id, name=api_key.name, prefix=api_key.prefix, key=secret, created_at=api_key.created_at
        )

    @get("/api-keys", guards=[requires_admin])
    async def list_api_keys(
        self, accounts: NamedDependency[AccountService], principal: NamedDependency[Principal]
    ) -> list[ApiKeyInfo]:
        return [_key_info(k) for k in await accounts.list_api_keys(principal)]

    @post("/api-keys/{key_id:uuid}/revoke", status_code=200, guards=[requires_admin])
    async def revoke_api_key(
        self, key_id: FromPath[UUID], accounts: NamedDependency[AccountService], principal: NamedDependency[Principal]
    ) -> ApiKeyInfo:
        return _key_info(await accounts.revoke_api_key(principal, key_id))
