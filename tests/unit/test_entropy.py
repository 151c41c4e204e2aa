"""pooled kernel randomness (app.lib.entropy): never the same bytes twice, in a thread or a forked child."""

from __future__ import annotations

import os
import threading

from app.lib import entropy


def test_bytes_are_handed_out_once_across_pool_refills() -> None:
    seen = [entropy.random_bytes(12) for _ in range(3 * entropy.POOL_BYTES // 12)]
    assert all(len(b) == 12 for b in seen) and len(set(seen)) == len(seen)
    assert len(entropy.random_hex()) == 32
    assert len(entropy.random_bytes(entropy.POOL_BYTES + 1)) == entropy.POOL_BYTES + 1


def test_threads_and_forked_children_do_not_share_a_pool() -> None:
    entropy.random_bytes(1)  # this thread's pool is filled
    mine = entropy.random_bytes(16)
    theirs: list[bytes] = []
    thread = threading.Thread(target=lambda: theirs.append(entropy.random_bytes(16)))
    thread.start()
    thread.join()
    assert theirs[0] != mine
    read, write = os.pipe()
    child = os.fork()
    if child == 0:  # the child: what it draws next must not be what the parent draws next
        os.write(write, entropy.random_bytes(16))
        os._exit(0)
    os.waitpid(child, 0)
    assert os.read(read, 16) != entropy.random_bytes(16)
