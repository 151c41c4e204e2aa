"""argon2id password hashing, run off the event loop because each hash costs tens of milliseconds."""

from __future__ import annotations

import asyncio
import contextlib

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()


async def hash_password(password: str) -> str:
    return await asyncio.to_thread(_hasher.hash, password)


async def verify_password(password_hash: str, password: str) -> tuple[bool, str | None]:
    """returns (valid, new_hash) where new_hash is set when the stored hash should be upgraded."""

    def check() -> tuple[bool, str | None]:
        try:
            _hasher.verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            return False, None
        if _hasher.check_needs_rehash(password_hash):
            return True, _hasher.hash(password)
        return True, None

    return await asyncio.to_thread(check)


def dummy_verify(password: str) -> None:
    # spend the same time when the email is unknown, so login timing does not reveal accounts
    with contextlib.suppress(VerificationError, InvalidHashError):
        _hasher.verify(_DUMMY_HASH, password)


_DUMMY_HASH = _hasher.hash("levers-timing-equaliser")
