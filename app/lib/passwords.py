"""argon2id password hashing, always off the event loop, and the password rules.

each hash or verify costs tens of milliseconds of cpu: run on the loop, two anonymous clients looping on login
stalled every request of the process (select p50 4 ms -> 1.2 s). so every call goes to a small pool of
low-priority threads: a flood of logins queues there, and the threads take only the cpu requests leave.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from pathlib import Path
from typing import TypeVar

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

T = TypeVar("T")

MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 512
# argon2-cffi releases the gil while hashing; at most this many hashes run at once per process
HASH_CONCURRENCY = 2
HASH_NICENESS = 19
COMMON_PASSWORDS_FILE = Path(__file__).resolve().parents[1] / "domain" / "accounts" / "common_passwords.txt"

_hasher = PasswordHasher()
_DUMMY_HASH = _hasher.hash("levers-timing-equaliser")


def _lower_priority() -> None:
    # linux applies a thread id's niceness to that thread alone (and to argon2's own lane threads it starts):
    # hashing then only takes cpu the request threads leave, however many logins arrive
    with contextlib.suppress(OSError, AttributeError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), HASH_NICENESS)


# a bounded pool: a flood of logins queues here instead of taking every core
_pool = ThreadPoolExecutor(max_workers=HASH_CONCURRENCY, thread_name_prefix="argon2", initializer=_lower_priority)


async def _off_loop(function: Callable[..., T], *args: object) -> T:
    return await asyncio.get_running_loop().run_in_executor(_pool, function, *args)


async def hash_password(password: str) -> str:
    return await _off_loop(_hasher.hash, password)


def _check(password_hash: str, password: str) -> tuple[bool, str | None]:
    try:
        _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False, None
    if _hasher.check_needs_rehash(password_hash):
        return True, _hasher.hash(password)
    return True, None


async def verify_password(password_hash: str, password: str) -> tuple[bool, str | None]:
    """returns (valid, new_hash) where new_hash is set when the stored hash should be upgraded."""
    return await _off_loop(_check, password_hash, password)


async def dummy_verify(password: str) -> None:
    """spends the time of a real verify when the email is unknown, so timing does not reveal accounts."""
    await _off_loop(_check, _DUMMY_HASH, password)


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    lines = COMMON_PASSWORDS_FILE.read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip() for line in lines if line.strip() and not line.startswith("#"))


def password_problem(password: str) -> str | None:
    """why a new password is refused, in words for the person choosing it; None when it is acceptable."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"Use at least {MIN_PASSWORD_LENGTH} characters."
    if len(password) > MAX_PASSWORD_LENGTH:
        return f"Use at most {MAX_PASSWORD_LENGTH} characters."
    if password.strip().lower() in common_passwords():
        return "This password is one of the most common ones; choose another."
    return None
