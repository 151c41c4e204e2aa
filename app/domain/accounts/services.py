from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import UTC, datetime
from uuid import UUID

from litestar import Request
from litestar.di import NamedDependency
from redis.exceptions import RedisError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models import ApiKey, Membership, Organization, Role, User
from app.domain.accounts.schemas import ApiKeyInfo
from app.lib.auth import Principal, api_key_uses
from app.lib.errors import ConflictError, NotFoundError, UnauthorizedError
from app.lib.passwords import dummy_verify, hash_password, verify_password
from app.lib.publish import Publisher
from app.lib.redis import reply
from app.lib.tokens import new_api_key


@dataclass(frozen=True)
class Account:
    user: User
    membership: Membership


class AccountService:
    def __init__(self, session: AsyncSession, publisher: Publisher) -> None:
        self.session = session
        self.publisher = publisher

    async def register(self, email: str, password: str, organization_name: str | None = None) -> Account:
        email = email.strip().lower()
        if await self.session.scalar(select(User.id).where(User.email == email)):
            raise ConflictError("an account with this email already exists", field="email")
        user = User(email=email, password_hash=await hash_password(password))
        organization = Organization(name=organization_name or email.split("@", 1)[1])
        membership = Membership(user=user, organization=organization, role=Role.OWNER)
        self.session.add_all([user, organization, membership])
        try:
            await self.session.flush()
        except IntegrityError as exc:
            raise ConflictError("an account with this email already exists", field="email") from exc
        return Account(user=user, membership=membership)

    async def authenticate(self, email: str, password: str) -> Account:
        user = await self.session.scalar(select(User).where(User.email == email.strip().lower()))
        if user is None:
            dummy_verify(password)
            raise UnauthorizedError("email or password is wrong")
        valid, new_hash = await verify_password(user.password_hash, password)
        if not valid:
            raise UnauthorizedError("email or password is wrong")
        if new_hash:
            user.password_hash = new_hash
        membership = await self.session.scalar(
            select(Membership).where(Membership.user_id == user.id).order_by(Membership.created_at).limit(1)
        )
        if membership is None:
            raise UnauthorizedError("this account belongs to no organization")
        return Account(user=user, membership=membership)

    async def me(self, principal: Principal) -> Account:
        membership = await self.session.scalar(
            select(Membership).where(
                Membership.user_id == principal.user_id, Membership.organization_id == principal.organization_id
            )
        )
        if membership is None:
            raise NotFoundError("no such user in this organization")
        return Account(user=membership.user, membership=membership)

    async def create_api_key(self, principal: Principal, name: str) -> tuple[ApiKey, str]:
        key, prefix, key_hash = new_api_key()
        api_key = ApiKey(
            organization_id=principal.organization_id,
            created_by_id=principal.user_id,
            name=name,
            prefix=prefix,
            key_hash=key_hash,
        )
        self.session.add(api_key)
        await self.session.flush()
        await self.publisher.api_key(api_key)
        return api_key, key

    async def list_api_keys(self, principal: Principal) -> list[ApiKeyInfo]:
        """the organization's keys, with their last use as the hot path noted it in redis; writes nothing."""
        rows = list(
            await self.session.scalars(
                select(ApiKey)
                .where(ApiKey.organization_id == principal.organization_id)
                .order_by(ApiKey.created_at.desc())
            )
        )
        uses: dict[bytes, bytes] = {}
        with contextlib.suppress(RedisError, OSError):
            uses = await reply(self.publisher.redis.hgetall(api_key_uses(self.publisher.keys)))
        infos = []
        for key in rows:
            raw = uses.get(str(key.id).encode())
            used = datetime.fromtimestamp(float(raw), UTC) if raw else None
            infos.append(key_info(key, used))
        return infos

    async def revoke_api_key(self, principal: Principal, key_id: UUID) -> ApiKey:
        api_key = await self.session.scalar(
            select(ApiKey).where(ApiKey.id == key_id, ApiKey.organization_id == principal.organization_id)
        )
        if api_key is None:
            raise NotFoundError("no such API key", field="id")
        if api_key.revoked_at is None:
            api_key.revoked_at = datetime.now(UTC)
            await self.session.flush()
            await self.publisher.remove_api_key(api_key.key_hash)
        return api_key


def key_info(key: ApiKey, used: datetime | None = None) -> ApiKeyInfo:
    """an api key as the api and the keys page show it; `used` is a later use noted in redis, if any."""
    last_used = max((t for t in (key.last_used_at, used) if t is not None), default=None)
    return ApiKeyInfo(
        id=key.id,
        name=key.name,
        prefix=key.prefix,
        created_at=key.created_at,
        last_used_at=last_used,
        revoked_at=key.revoked_at,
    )


def provide_account_service(db_session: NamedDependency[AsyncSession], request: Request) -> AccountService:
    return AccountService(db_session, request.app.state.publisher)
