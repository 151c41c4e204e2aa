from __future__ import annotations

from uuid import UUID

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, JSONBody
from litestar.status_codes import HTTP_201_CREATED, HTTP_204_NO_CONTENT

from app.domain.accounts.schemas import AccessToken, ApiKeyCreate, ApiKeyCreated, ApiKeyInfo, Login, Me, Registration
from app.domain.accounts.services import Account, AccountService, key_info, provide_account_service
from app.lib.auth import Principal, requires_admin
from app.lib.deps import provide_principal
from app.lib.errors import UnauthorizedError
from app.lib.openapi import api_responses, problem_responses


def me_out(account: Account) -> Me:
    m = account.membership
    return Me(
        id=account.user.id,
        email=account.user.email,
        organization_id=m.organization_id,
        organization_name=m.organization.name,
        role=m.role.value,
    )


class PublicAuthController(Controller):
    path = "/auth"
    tags = ["auth"]
    dependencies = {"accounts": Provide(provide_account_service, sync_to_thread=False)}

    @post(
        "/register",
        status_code=HTTP_201_CREATED,
        exclude_from_auth=True,
        responses=problem_responses(400, 409, 413, 422, 429),
    )
    async def register(self, data: JSONBody[Registration], accounts: NamedDependency[AccountService]) -> Me:
        """Create an account and its organization, with you as its owner."""
        return me_out(await accounts.register(data.email, data.password, data.organization_name))

    @post("/login", status_code=200, exclude_from_auth=True, responses=problem_responses(400, 401, 403, 413, 422, 429))
    async def login(
        self, data: JSONBody[Login], accounts: NamedDependency[AccountService], request: Request
    ) -> AccessToken:
        """Exchange an email and password for a bearer access token."""
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

    @get("/me", responses=api_responses(404))
    async def me(self, accounts: NamedDependency[AccountService], principal: NamedDependency[Principal]) -> Me:
        """Who the access token belongs to: user, organization and role."""
        if principal.user_id is None:
            raise UnauthorizedError("an API key has no user; log in to see /auth/me")
        return me_out(await accounts.me(principal))

    @post("/logout-everywhere", status_code=HTTP_204_NO_CONTENT, responses=api_responses())
    async def logout_everywhere(
        self, accounts: NamedDependency[AccountService], principal: NamedDependency[Principal]
    ) -> None:
        """End every dashboard session and every access token of the caller (this one included)."""
        if principal.user_id is None:
            raise UnauthorizedError("an API key has no user; revoke the key instead")
        await accounts.log_out_everywhere(principal.user_id)

    @post("/api-keys", status_code=HTTP_201_CREATED, guards=[requires_admin], responses=api_responses(403, body=True))
    async def create_api_key(
        self,
        data: JSONBody[ApiKeyCreate],
        accounts: NamedDependency[AccountService],
        principal: NamedDependency[Principal],
    ) -> ApiKeyCreated:
        """Create an API key for the organization; its secret is shown only in this answer."""
        api_key, secret = await accounts.create_api_key(principal, data.name)
        return ApiKeyCreated(
            id=api_key.id, name=api_key.name, prefix=api_key.prefix, key=secret, created_at=api_key.created_at
        )

    @get("/api-keys", guards=[requires_admin], responses=api_responses(403))
    async def list_api_keys(
        self, accounts: NamedDependency[AccountService], principal: NamedDependency[Principal]
    ) -> list[ApiKeyInfo]:
        """List the organization's API keys (never their secrets)."""
        return await accounts.list_api_keys(principal)

    @post(
        "/api-keys/{key_id:uuid}/revoke",
        status_code=200,
        guards=[requires_admin],
        responses=api_responses(400, 403, 404),
    )
    async def revoke_api_key(
        self, key_id: FromPath[UUID], accounts: NamedDependency[AccountService], principal: NamedDependency[Principal]
    ) -> ApiKeyInfo:
        """Revoke an API key: it stops working at once."""
        return key_info(await accounts.revoke_api_key(principal, key_id))
