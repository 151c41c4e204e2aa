from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NoReturn
from uuid import UUID, uuid4

import structlog
from litestar import Request
from litestar.di import NamedDependency
from redis.exceptions import RedisError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models import ApiKey, Membership, Organization, Role, User
from app.domain.accounts.links import MailLinks, already_registered_mail, send_verification
from app.domain.accounts.schemas import ApiKeyInfo
from app.domain.accounts.sessions import close_all_sessions, user_memberships
from app.lib.auth import Principal
from app.lib.errors import InvalidInputError, NotFoundError, PermissionDeniedError, UnauthorizedError
from app.lib.passwords import dummy_verify, hash_password, password_problem, verify_password
from app.lib.throttle import Throttle, client_address
from app.lib.tokens import new_api_key
from app.runtime.publish import Publisher

log = structlog.get_logger(__name__)

# a login of an unconfirmed account re-sends its confirmation link at most this often
VERIFICATION_RESEND_SECONDS = 300


class EmailNotConfirmedError(PermissionDeniedError):
    """the password was right, but the account's email is not confirmed yet (production)."""


@dataclass(frozen=True)
class Account:
    user: User
    membership: Membership
    # false for the stand-in answered to a registration of an email that already has an account
    created: bool = True


def check_new_password(password: str) -> None:
    """the rules for a password someone chooses (register, invitation acceptance, any future reset)."""
    problem = password_problem(password)
    if problem is not None:
        raise InvalidInputError(problem, field="password")


class AccountService:
    def __init__(
        self,
        session: AsyncSession,
        publisher: Publisher,
        throttle: Throttle | None = None,
        address: str = "",
        token_ttl_seconds: int = 3600,
        links: MailLinks | None = None,
        require_verification: bool = False,
    ) -> None:
        self.publisher_token_ttl = token_ttl_seconds
        self.links = links
        self.require_verification = require_verification
        self.session = session
        self.publisher = publisher
        self.throttle = throttle
        self.address = address

    async def register(self, email: str, password: str, organization_name: str | None = None) -> Account:
        """a new account; for an email that has one, an answer shaped like success (accounts stay private)."""
        if self.throttle is not None:
            await self.throttle.address("register", self.address)
        check_new_password(password)
        email = email.strip().lower()
        # hashed either way, so the time taken does not tell whether the account exists
        password_hash = await hash_password(password)
        organization = Organization(name=organization_name or email.split("@", 1)[1])
        if await self.session.scalar(select(User.id).where(User.email == email)):
            return await self._already_registered(email, organization)
        user = User(email=email, password_hash=password_hash)
        membership = Membership(user=user, organization=organization, role=Role.OWNER)
        self.session.add_all([user, organization, membership])
        try:
            async with self.session.begin_nested():
                await self.session.flush()
        except IntegrityError:  # registered concurrently
            return await self._already_registered(email, Organization(name=organization.name))
        if self.links is not None:
            await send_verification(self.session, self.links, user)
        return Account(user=user, membership=membership)

    async def _already_registered(self, email: str, organization: Organization) -> Account:
        # nothing is stored: the ids are fresh and lead nowhere. the owner is told by mail instead
        log.info("registration for an existing account: owner notified by email")
        # at most one such notice an hour, so the form can't be used to flood someone's inbox
        notify = self.throttle is None or await self.throttle.once_per("registered", email, 3600)
        if notify and self.links is not None:
            self.links.outbox.send(already_registered_mail(email, self.links.base_url))
        organization.id = uuid4()
        user = User(id=uuid4(), email=email, password_hash="")
        membership = Membership(id=uuid4(), organization_id=organization.id, user_id=user.id, role=Role.OWNER)
        membership.organization = organization
        return Account(user=user, membership=membership, created=False)

    async def authenticate(self, email: str, password: str) -> Account:
        if self.throttle is not None:
            await self.throttle.address("login", self.address)
            await self.throttle.account_open("login", email)
        user = await self.session.scalar(select(User).where(User.email == email.strip().lower()))
        if user is None:
            await dummy_verify(password)
            await self._failed(email)
        valid, new_hash = await verify_password(user.password_hash, password)
        if not valid:
            await self._failed(email)
        if self.throttle is not None:
            await self.throttle.account_succeeded("login", email)
        if new_hash:
            user.password_hash = new_hash
        if self.require_verification and user.email_verified_at is None:
            await self._ask_confirmation(user)
        membership = await self.session.scalar(
            select(Membership).where(Membership.user_id == user.id).order_by(Membership.created_at).limit(1)
        )
        if membership is None:
            raise UnauthorizedError("this account belongs to no organization")
        return Account(user=user, membership=membership)

    async def _ask_confirmation(self, user: User) -> NoReturn:
        # only someone who knows the password gets here, so saying the account exists tells them nothing new
        resend = self.throttle is None or await self.throttle.once_per(
            "verify", user.email, VERIFICATION_RESEND_SECONDS
        )
        if resend and self.links is not None:
            await send_verification(self.session, self.links, user)
            # the answer is an error, which rolls the request's transaction back: the new link must outlive it
            await self.session.commit()
        raise EmailNotConfirmedError(
            f"Confirm your email first: open the link we sent to {user.email} (a new one goes out at most every "
            f"{VERIFICATION_RESEND_SECONDS // 60} minutes), then log in.",
            field="email",
        )

    async def _failed(self, email: str) -> NoReturn:
        if self.throttle is not None:
            await self.throttle.account_failed("login", email)
        raise UnauthorizedError("email or password is wrong")

    async def log_out_everywhere(self, user_id: UUID) -> None:
        """ends every dashboard session of the user and every api access token issued to them until now."""
        await close_all_sessions(self.session, user_id)
        ttl = self.publisher_token_ttl
        for organization_id in await user_memberships(self.session, user_id):
            await self.publisher.member_changed(organization_id, user_id, ttl)

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
            uses = await self.publisher.store.api_key_uses()
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


def mail_links(request: Request[Any, Any, Any]) -> MailLinks | None:
    """none when the app runs without an outbox (nothing then sends mail)."""
    outbox = request.app.state.get("outbox")
    if outbox is None:
        return None
    configured = request.app.state.settings.base_url
    # production with smtp refuses to start without BASE_URL: there the request's host header is never used
    return MailLinks(outbox=outbox, base_url=configured or str(request.base_url).rstrip("/"))


def provide_account_service(db_session: NamedDependency[AsyncSession], request: Request) -> AccountService:
    state = request.app.state
    return AccountService(
        db_session,
        state.publisher,
        state.get("throttle"),
        client_address(request),
        state.settings.jwt_ttl_seconds,
        links=mail_links(request),
        require_verification=state.settings.require_email_verification,
    )
