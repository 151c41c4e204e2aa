"""random bytes from os.urandom, read 4 KB at a time: one getrandom() call per ~300 selection nonces and
request ids rather than one each (a syscall each was ~2% of a select's cpu on a loaded box, py-spy).

the bytes are the kernel's, as secrets.token_bytes gives them; each thread keeps its own pool, and a forked
child drops what it inherited, so no two callers are ever handed the same bytes.
"""

from __future__ import annotations

import os
import threading

POOL_BYTES = 4096


class _Pool(threading.local):
    data = b""
    at = 0


_pool = _Pool()


def _forget() -> None:
    _pool.data, _pool.at = b"", 0


os.register_at_fork(after_in_child=_forget)


def random_bytes(n: int) -> bytes:
    pool = _pool
    at = pool.at
    if at + n > len(pool.data):
        pool.data, at = os.urandom(max(POOL_BYTES, n)), 0
    pool.at = at + n
    return pool.data[at : at + n]


def random_hex(n: int = 16) -> str:
    """2n hex digits (a request id: 16 bytes, as long as a uuid4's hex)."""
    return random_bytes(n).hex()
