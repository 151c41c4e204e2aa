"""garbage collection settings for a long-running server process (`levers serve`).

why: py-spy put ~5% of the tag events route's cpu in cyclic garbage collection, most of it full (gen 2)
collections walking the objects startup made (routes, models, the sqlalchemy metadata, the hot cache), which
live as long as the process. freezing them after startup keeps the collector from walking them again, and a
larger first generation collects the requests' short-lived containers in fewer, equally short passes.
memory: refcounting still frees everything; only cycles wait a little longer (at most GEN0_THRESHOLD
allocations). the gain is a few per cent of a request's cpu, within the run-to-run noise of bench/hot_path.py on
a shared 2-core box; the profile is what showed the collector's share.
"""

from __future__ import annotations

import gc

GEN0_THRESHOLD = 20_000
GEN1_THRESHOLD = 50
GEN2_THRESHOLD = 100


def settle_heap() -> None:
    """collect what startup left over, then keep the survivors out of every later collection."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(GEN0_THRESHOLD, GEN1_THRESHOLD, GEN2_THRESHOLD)
