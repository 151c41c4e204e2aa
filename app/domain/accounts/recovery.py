"""password reset by mailed link, and email confirmation."""

from __future__ import annotations

from sqlalchemy import delete, select, update

from app.db.models import AccountToken, TokenPurpose, User
from app.domain.accounts.links import consume, mark_verified, pending, send_reset
from app.domain.accounts.services import AccountService, check_new_password
from app.lib.errors import InvalidInputError
from app.lib.passwords import hash_password

# one reset mail per account and minute: asking again sooner answers alike and sends nothing
RESET_MAIL_INTERVAL_SECONDS = 60
EXPIRED = "This link has expired or was used already. Ask for a new one."


class RecoveryService:
    def __init__(self, accounts: AccountService) -> None:
        self.accounts = accounts
        self.session = accounts.session

    async def _throttle(self) -> None:
        if self.accounts.throttle is not None:
            await self.accounts.throttle.address("reset", self.accounts.address)

    async def request_reset(self, email: str) -> None:
        """mails a reset link when an account has this email; does and answers the same otherwise."""
        await self._throttle()
        email = email.strip().lower()
        throttle = self.accounts.throttle
        if throttle is not None and not await throttle.once_per("reset-mail", email, RESET_MAIL_INTERVAL_SECONDS):
            return
        user = await self.session.scalar(select(User).where(User.email == email))
        if user is not None and self.accounts.links is not None:
            await send_reset(self.session, self.accounts.links, user)

    async def reset_is_pending(self, token: str) -> bool:
        return await pending(self.session, token, TokenPurpose.RESET_PASSWORD) is not None

    async def reset_password(self, token: str, password: str) -> User:
        """sets the new password, uses up the link and ends every session and access token of the user."""
        await self._throttle()
        # the rules first: a refused password leaves the link usable for a second try
        check_new_password(password)
        password_hash = await hash_password(password)
        used = await consume(self.session, token, TokenPurpose.RESET_PASSWORD)
        if used is None:
            raise InvalidInputError(EXPIRED, field="token")
        user = await self.session.scalar(select(User).where(User.id == used.user_id))
        if user is None:
            raise InvalidInputError(EXPIRED, field="token")
        await self.session.execute(update(User).where(User.id == user.id).values(password_hash=password_hash))
        # the link reached the mailbox, which is what a confirmation proves
        await mark_verified(self.session, user.id, used.email)
        await self.session.execute(
            delete(AccountToken).where(
                AccountToken.user_id == user.id,
                AccountToken.purpose == TokenPurpose.RESET_PASSWORD,
                AccountToken.used_at.is_(None),
            )
        )
        await self.accounts.log_out_everywhere(user.id)
        if self.accounts.throttle is not None:
            # whoever was guessing the old password has nothing left to guess: the lock goes with it
            await self.accounts.throttle.account_succeeded("login", user.email)
        return user

    async def verify_is_pending(self, token: str) -> bool:
        return await pending(self.session, token, TokenPurpose.VERIFY_EMAIL) is not None

    async def verify_email(self, token: str) -> str:
        """confirms the email the link was sent to; returns it."""
        await self._throttle()
        used = await consume(self.session, token, TokenPurpose.VERIFY_EMAIL)
        if used is None:
            raise InvalidInputError(EXPIRED, field="token")
        await mark_verified(self.session, used.user_id, used.email)
        return used.email
